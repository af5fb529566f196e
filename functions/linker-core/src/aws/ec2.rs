//! The EC2 adapter behind [`Ec2Port`]: `DescribeVpcEndpoints` and `CreateTags` in the account
//! and region of each event, with one SDK client per account and region kept for the life of the
//! container.
//!
//! The function's own account is read with the function's credentials. Another account is read
//! through the role `CROSS_ACCOUNT_ROLE_NAME` in that account, assumed with STS; the SDK caches
//! the assumed credentials and renews them before they expire.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::SharedCredentialsProvider;
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, Tag, VpcEndpoint};
use aws_smithy_async::time::SystemTimeSource;
use tracing::info;

use crate::domain::ids::{AccountId, VpcEndpointId};
use crate::domain::verdict::Ec2State;
use crate::error::{Ec2Error, ErrorClass};
use crate::ports::{Ec2Endpoint, Ec2Location, Ec2Port};

/// The session name of every assumed role, so that CloudTrail in the other account names the tool.
pub const ROLE_SESSION_NAME: &str = "atlas-privatelink-linker";

/// The function's own partition and account, as the ARN it was invoked with names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnIdentity {
    pub partition: String,
    pub account: AccountId,
}

impl OwnIdentity {
    /// Reads `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
    pub fn from_function_arn(arn: &str) -> Option<Self> {
        let mut parts = arn.split(':');
        let (Some("arn"), Some(partition), Some("lambda"), Some(_region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let partition_ok = partition.starts_with("aws")
            && partition
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-');
        Some(Self {
            partition: partition_ok.then(|| partition.to_owned())?,
            account: AccountId::parse(account)?,
        })
    }
}

/// Reads VPC endpoints through the AWS SDK.
pub struct Ec2Adapter {
    base: SdkConfig,
    /// The role assumed in other accounts, by name and optional path.
    cross_account_role: Option<String>,
    own: Option<OwnIdentity>,
    /// Clients by account (`None` for the own account) and region.
    clients: Mutex<HashMap<(Option<AccountId>, String), Client>>,
    /// Assumed-role credentials by account, shared by that account's clients in every region.
    roles: Mutex<HashMap<AccountId, SharedCredentialsProvider>>,
}

impl Ec2Adapter {
    /// Creates the adapter. Without `own`, the function's credentials serve every account unless
    /// a cross-account role is set. With a role set, it is then assumed for every named account.
    pub fn new(
        base: SdkConfig,
        cross_account_role: Option<String>,
        own: Option<OwnIdentity>,
    ) -> Self {
        // The assume-role provider needs a time source. `aws_config::load_defaults` sets one; a
        // configuration built by hand may not, and the provider would panic without it.
        let base = if base.time_source().is_some() {
            base
        } else {
            base.into_builder()
                .time_source(SystemTimeSource::new())
                .build()
        };
        Self {
            base,
            cross_account_role,
            own,
            clients: Mutex::new(HashMap::new()),
            roles: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the account to assume a role in, or `None` to use the function's credentials.
    fn foreign_account<'a>(
        &self,
        operation: &'static str,
        at: &'a Ec2Location,
    ) -> Result<Option<&'a AccountId>, Ec2Error> {
        let Some(account) = &at.account else {
            return Ok(None);
        };
        if self.own.as_ref().is_some_and(|own| own.account == *account) {
            return Ok(None);
        }
        match (&self.cross_account_role, &self.own) {
            (Some(_), _) => Ok(Some(account)),
            (None, None) => Ok(None),
            (None, Some(own)) => Err(Ec2Error {
                operation,
                location: at.to_string(),
                code: None,
                message: format!(
                    "the endpoint belongs to account {account}, not to the function's account {}, and CROSS_ACCOUNT_ROLE_NAME is not set; set it to a role that account lets the function assume, or deploy the linker in that account",
                    own.account
                ),
                class: ErrorClass::Configuration,
            }),
        }
    }

    /// Returns the ARN of the cross-account role in `account`.
    fn role_arn(&self, account: &AccountId, role: &str) -> String {
        let partition = self
            .own
            .as_ref()
            .map_or("aws", |own| own.partition.as_str());
        format!("arn:{partition}:iam::{account}:role/{role}")
    }

    /// Returns the client for `at`, for a call of `operation`.
    async fn client(&self, operation: &'static str, at: &Ec2Location) -> Result<Client, Ec2Error> {
        let foreign = self.foreign_account(operation, at)?;
        let key = (foreign.cloned(), at.region.as_str().to_owned());
        if let Some(client) = lock(&self.clients).get(&key) {
            return Ok(client.clone());
        }
        let mut config = aws_sdk_ec2::config::Builder::from(&self.base)
            .region(Region::new(at.region.as_str().to_owned()));
        if let (Some(account), Some(role)) = (foreign, &self.cross_account_role) {
            config = config.credentials_provider(self.assumed_role(account, role).await);
        }
        let client = Client::from_conf(config.build());
        Ok(lock(&self.clients).entry(key).or_insert(client).clone())
    }

    /// Returns the credentials of the cross-account role in `account`, building the provider at
    /// the first use. No request is made here; STS is called when EC2 first needs credentials.
    async fn assumed_role(&self, account: &AccountId, role: &str) -> SharedCredentialsProvider {
        if let Some(provider) = lock(&self.roles).get(account) {
            return provider.clone();
        }
        let role_arn = self.role_arn(account, role);
        info!(
            account_id = account.as_str(),
            role_arn = role_arn.as_str(),
            "reading EC2 in another account through an assumed role"
        );
        let provider = AssumeRoleProvider::builder(role_arn)
            .session_name(ROLE_SESSION_NAME)
            .configure(&self.base)
            .build()
            .await;
        let provider = SharedCredentialsProvider::new(provider);
        lock(&self.roles)
            .entry(account.clone())
            .or_insert(provider)
            .clone()
    }

    /// Builds the error of a failed call. When the credentials of the cross-account role could
    /// not be loaded, the error names the role, and a denial by STS is a configuration error:
    /// retrying does not help until the role or its trust policy changes.
    fn error<E>(
        &self,
        operation: &'static str,
        at: &Ec2Location,
        error: &SdkError<E, HttpResponse>,
    ) -> Ec2Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut converted = ec2_error(operation, at, error);
        let (Ok(Some(account)), Some(role)) = (
            self.foreign_account(operation, at),
            self.cross_account_role.as_deref(),
        ) else {
            return converted;
        };
        let chain = crate::error::display_chain(error);
        if matches!(error, SdkError::ServiceError(_)) || !chain.contains(CREDENTIALS_FAILURE) {
            return converted;
        }
        let role_arn = self.role_arn(account, role);
        // The SDK reports STS's error code in parentheses, as in "unhandled error (AccessDenied)".
        let denied = PERMISSION_CODES
            .iter()
            .any(|code| chain.contains(&format!("({code})")));
        converted.message = if denied {
            converted.class = ErrorClass::Configuration;
            format!(
                "STS denied AssumeRole on {role_arn} (session name {ROLE_SESSION_NAME}): {chain}; check that the role exists in account {account} and that its trust policy names the function's execution role"
            )
        } else {
            format!("assuming {role_arn} failed: {chain}")
        };
        converted
    }
}

/// The text the SDK puts in an error when a credentials provider failed.
const CREDENTIALS_FAILURE: &str = "an error occurred while loading credentials";

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Ec2Port for Ec2Adapter {
    async fn describe_endpoint(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
    ) -> Result<Option<Ec2Endpoint>, Ec2Error> {
        let output = self
            .client("DescribeVpcEndpoints", at)
            .await?
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
            Err(error) => return Err(self.error("DescribeVpcEndpoints", at, &error)),
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
        at: &Ec2Location,
        service_name: &str,
    ) -> Result<Vec<Ec2Endpoint>, Ec2Error> {
        let filter = Filter::builder()
            .name("service-name")
            .values(service_name)
            .build();
        let mut pages = self
            .client("DescribeVpcEndpoints", at)
            .await?
            .describe_vpc_endpoints()
            .filters(filter)
            .into_paginator()
            .send();
        let mut endpoints = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| self.error("DescribeVpcEndpoints", at, &error))?;
            endpoints.extend(page.vpc_endpoints().iter().map(to_endpoint));
        }
        Ok(endpoints)
    }

    async fn tag_endpoint(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
        key: &str,
        value: &str,
    ) -> Result<(), Ec2Error> {
        self.client("CreateTags", at)
            .await?
            .create_tags()
            .resources(id.as_str())
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .map_err(|error| self.error("CreateTags", at, &error))?;
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
    at: &Ec2Location,
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
        location: at.to_string(),
        code,
        message,
        class,
    }
}

/// Error codes of EC2 and STS that mean the credentials may not make the call.
const PERMISSION_CODES: [&str; 8] = [
    "UnauthorizedOperation",
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "AccessDenied",
    "OptInRequired",
    "RegionDisabledException",
];

fn is_permission_error(code: &str) -> bool {
    PERMISSION_CODES.contains(&code)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AwsRegion;

    const OWN: &str = "111122223333";
    const OTHER: &str = "444455556666";

    fn adapter(role: Option<&str>, arn: &str) -> Ec2Adapter {
        let base = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Ec2Adapter::new(
            base,
            role.map(str::to_owned),
            OwnIdentity::from_function_arn(arn),
        )
    }

    fn at(account: Option<&str>) -> Ec2Location {
        Ec2Location::new(
            account.map(|a| AccountId::parse(a).unwrap()),
            AwsRegion::parse("eu-west-1").unwrap(),
        )
    }

    const ARN: &str = "arn:aws:lambda:eu-west-1:111122223333:function:linker-events";

    #[test]
    fn own_identity_from_function_arn() {
        let own = OwnIdentity::from_function_arn(ARN).unwrap();
        assert_eq!((own.partition.as_str(), own.account.as_str()), ("aws", OWN));
        let qualified = "arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:f:live";
        let own = OwnIdentity::from_function_arn(qualified).unwrap();
        assert_eq!(own.partition, "aws-us-gov");
        for arn in [
            "",
            "arn:aws:lambda:eu-west-1",
            "arn:aws:s3:eu-west-1:111122223333:function:f",
            "arn:aws:lambda:eu-west-1:1111-2222-3333:function:f",
            "arn:aws:iam::111122223333:role/x",
            "arn:x/../y:lambda:eu-west-1:111122223333:function:f",
        ] {
            assert_eq!(OwnIdentity::from_function_arn(arn), None, "{arn:?}");
        }
    }

    #[test]
    fn own_account_uses_own_credentials() {
        for role in [None, Some("reader")] {
            let adapter = adapter(role, ARN);
            assert_eq!(adapter.foreign_account("Test", &at(None)).unwrap(), None);
            assert_eq!(
                adapter.foreign_account("Test", &at(Some(OWN))).unwrap(),
                None
            );
        }
    }

    #[test]
    fn other_account_needs_the_role() {
        let error = adapter(None, ARN)
            .foreign_account("Test", &at(Some(OTHER)))
            .unwrap_err();
        assert_eq!(error.class, ErrorClass::Configuration);
        assert!(error.message.contains("CROSS_ACCOUNT_ROLE_NAME is not set"));
        assert!(error.message.contains(OTHER));

        let adapter = adapter(Some("platform/reader"), ARN);
        let other = at(Some(OTHER));
        let account = adapter.foreign_account("Test", &other).unwrap().unwrap();
        assert_eq!(
            adapter.role_arn(account, "platform/reader"),
            "arn:aws:iam::444455556666:role/platform/reader"
        );
    }

    #[tokio::test]
    async fn role_credentials_are_shared_by_regions() {
        let adapter = adapter(Some("reader"), ARN);
        let account = AccountId::parse(OTHER).unwrap();
        adapter.client("Test", &at(Some(OTHER))).await.unwrap();
        let mut elsewhere = at(Some(OTHER));
        elsewhere.region = AwsRegion::parse("us-east-1").unwrap();
        adapter.client("Test", &elsewhere).await.unwrap();
        adapter.client("Test", &at(None)).await.unwrap();
        assert_eq!(lock(&adapter.clients).len(), 3);
        assert_eq!(lock(&adapter.roles).len(), 1);
        assert!(lock(&adapter.roles).contains_key(&account));
    }
}
