//! Adapters for the AWS services the functions use: EC2 for the endpoints, Secrets Manager for
//! the Atlas credentials. Both honour the SDK's standard settings, `AWS_ENDPOINT_URL` included.

pub mod ec2;
pub mod secrets;
