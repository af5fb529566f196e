//! Test harness for the Lambda functions in this workspace.
//!
//! - [`runtime`] runs a compiled function binary behind a local Lambda
//!   Runtime API emulator and invokes it with events.
//! - [`moto`] starts moto's standalone server and prepares EC2 and Secrets
//!   Manager state in it through the AWS SDK.
//! - [`events`] loads the sample events under `<workspace>/events` and
//!   rewrites the resource ids in them.
//! - [`workspace`] finds the workspace root and built binaries.
//!
//! Every process the harness starts gets dummy AWS credentials, has EC2
//! instance metadata disabled and has `AWS_ENDPOINT_URL` set to a loopback
//! address, so no test can reach real AWS by accident.

pub mod error;
pub mod events;
pub mod moto;
mod output;
pub mod runtime;
pub mod workspace;

pub use error::HarnessError;
pub use moto::{Ec2Fixtures, Moto, MotoAccount};
pub use runtime::{FunctionProcess, InitError, Invocation};

/// Dummy credentials given to every process the harness starts.
pub const DUMMY_ACCESS_KEY_ID: &str = "testing";
/// Dummy secret key given to every process the harness starts.
pub const DUMMY_SECRET_ACCESS_KEY: &str = "testing";
/// Region used when a caller does not name one.
pub const DEFAULT_REGION: &str = "us-east-1";
