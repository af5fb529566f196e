//! The EC2 adapter behind [`Ec2Port`]: `DescribeVpcEndpoints` in the region of each event, with
//! one SDK client per region kept for the life of the container.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{Region, SdkConfig};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, Tag, VpcEndpoint};

use crate::domain::ids::{AwsRegion, VpcEndpointId};
use crate::domain::verdict::Ec2State;
use crate::error::{Ec2Error, ErrorClass};
use crate::ports::{Ec2Endpoint, Ec2Port};

/// Reads VPC endpoints through the AWS SDK.
pub struct Ec2Adapter {
    base: SdkConfig,
    clients: Mutex<HashMap<String, Client>>,
}

impl Ec2Adapter {
    pub fn new(base: SdkConfig) -> Self {
        Self {
            base,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, region: &AwsRegion) -> Client {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        clients
            .entry(region.as_str().to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_ec2::config::Builder::from(&self.base)
                    .region(Region::new(region.as_str().to_owned()))
                    .build();
                Client::from_conf(config)
            })
            .clone()
    }
}

impl Ec2Port for Ec2Adapter {
    async fn describe_endpoint(
        &self,
        region: &AwsRegion,
        id: &VpcEndpointId,
    ) -> Result<Option<Ec2Endpoint>, Ec2Error> {
        let output = self
            .client(region)
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(id.as_str())
            .send()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(SdkError::ServiceError(error))
                if error.err().code() == Some("InvalidVpcEndpointId.NotFound") =>
            {
                return Ok(None);
            }
            Err(error) => return Err(ec2_error("DescribeVpcEndpoints", region, &error)),
        };
        let found = output
            .vpc_endpoints()
            .iter()
            .find(|endpoint| endpoint.vpc_endpoint_id() == Some(id.as_str()))
            .map(to_endpoint);
        Ok(found)
    }

    async fn list_endpoints(
        &self,
        region: &AwsRegion,
        service_name: &str,
    ) -> Result<Vec<Ec2Endpoint>, Ec2Error> {
        let filter = Filter::builder()
            .name("service-name")
            .values(service_name)
            .build();
        let mut pages = self
            .client(region)
            .describe_vpc_endpoints()
            .filters(filter)
            .into_paginator()
            .send();
        let mut endpoints = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| ec2_error("DescribeVpcEndpoints", region, &error))?;
            endpoints.extend(page.vpc_endpoints().iter().map(to_endpoint));
        }
        Ok(endpoints)
    }

    async fn tag_endpoint(
        &self,
        region: &AwsRegion,
        id: &VpcEndpointId,
        key: &str,
        value: &str,
    ) -> Result<(), Ec2Error> {
        self.client(region)
            .create_tags()
            .resources(id.as_str())
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .map_err(|error| ec2_error("CreateTags", region, &error))?;
        Ok(())
    }
}

fn to_endpoint(endpoint: &VpcEndpoint) -> Ec2Endpoint {
    Ec2Endpoint {
        id: endpoint.vpc_endpoint_id().unwrap_or_default().to_owned(),
        endpoint_type: endpoint
            .vpc_endpoint_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        service_name: endpoint.service_name().unwrap_or_default().to_owned(),
        // EC2 sends lower-case states that the SDK's enum does not always map, so the state is
        // read from its string form.
        state: endpoint
            .state()
            .map_or(Ec2State::Unknown(String::new()), |s| {
                Ec2State::parse(s.as_str())
            }),
        vpc_id: endpoint.vpc_id().map(str::to_owned),
        owner_id: endpoint.owner_id().map(str::to_owned),
        tags: endpoint
            .tags()
            .iter()
            .map(|tag| {
                (
                    tag.key().unwrap_or_default().to_owned(),
                    tag.value().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        created_at: endpoint.creation_timestamp().map(|t| t.secs()),
    }
}

/// Converts an SDK error into an [`Ec2Error`], keeping EC2's error code and message.
fn ec2_error<E>(
    operation: &'static str,
    region: &AwsRegion,
    error: &SdkError<E, HttpResponse>,
) -> Ec2Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let server_error = error
        .raw_response()
        .is_some_and(|r| r.status().is_server_error());
    let code = error.code().map(str::to_owned);
    let class = match (error, code.as_deref()) {
        (SdkError::ServiceError(_), Some(code)) if is_permission_error(code) => {
            ErrorClass::Configuration
        }
        (SdkError::ServiceError(_), Some(code)) if is_throttling(code) => ErrorClass::Retryable,
        (SdkError::ServiceError(_), _) if server_error => ErrorClass::Retryable,
        (SdkError::ServiceError(_), _) => ErrorClass::Rejected,
        (SdkError::ConstructionFailure(_), _) => ErrorClass::Configuration,
        _ => ErrorClass::Retryable,
    };
    let message = match error.message() {
        Some(message) => format!("{}: {message}", code.as_deref().unwrap_or("error")),
        None => crate::error::display_chain(error),
    };
    Ec2Error {
        operation,
        region: region.to_string(),
        code,
        message,
        class,
    }
}

fn is_permission_error(code: &str) -> bool {
    matches!(
        code,
        "UnauthorizedOperation"
            | "AuthFailure"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "AccessDenied"
            | "OptInRequired"
    )
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "RequestLimitExceeded"
            | "Throttling"
            | "ThrottlingException"
            | "ServiceUnavailable"
            | "Unavailable"
            | "InternalError"
    )
}
