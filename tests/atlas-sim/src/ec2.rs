//! EC2 lookup behind link acceptance: before a PENDING_ACCEPTANCE link may
//! become AVAILABLE, the simulator queries a configured EC2-compatible
//! endpoint (moto in the tests) for the interface endpoint.
//!
//! Atlas receives every connection request to its endpoint service, whichever
//! account or region (cross-region PrivateLink) sent it. The simulator
//! imitates that by searching its own account first and then each configured
//! account, through a role assumed with the endpoint's STS, and in each the
//! service's region first and then each configured region. moto accepts any
//! role, and serves later requests with the returned credentials in the
//! role's account.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::config::timeout::TimeoutConfig;
use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::VpcEndpoint;

use crate::lock;
use crate::state::Acceptance;

/// Error code that EC2 returns when a `vpce-` id does not exist.
const NOT_FOUND_CODE: &str = "InvalidVpcEndpointId.NotFound";

/// The role the simulator assumes to search another account.
const READ_ROLE_NAME: &str = "atlas-sim-reader";

/// EC2 client factory for one endpoint URL, with one client per account
/// and region.
pub(crate) struct Ec2Checker {
    endpoint_url: String,
    credentials: Credentials,
    /// Accounts searched after the simulator's own.
    accounts: Vec<String>,
    /// Regions searched after the endpoint service's own.
    regions: Vec<String>,
    clients: Mutex<HashMap<(Option<String>, String), aws_sdk_ec2::Client>>,
}

impl Ec2Checker {
    /// Uses `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` from the environment, or fixed dummy credentials
    /// when they are unset. No other credential source is consulted, so the
    /// client never contacts an instance metadata service.
    pub fn new(endpoint_url: String, accounts: Vec<String>, regions: Vec<String>) -> Self {
        let access_key = std::env::var("AWS_ACCESS_KEY_ID").ok();
        let secret_key = std::env::var("AWS_SECRET_ACCESS_KEY").ok();
        let credentials = match (access_key, secret_key) {
            (Some(access), Some(secret)) => Credentials::new(
                access,
                secret,
                std::env::var("AWS_SESSION_TOKEN").ok(),
                None,
                "environment",
            ),
            _ => Credentials::new("testing", "testing", None, None, "atlas-sim-dummy"),
        };
        Self {
            endpoint_url,
            credentials,
            accounts,
            regions,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Builds the settings every client shares: the endpoint URL, the
    /// region, two attempts and a 10 s operation time-out.
    fn base_config(&self, aws_region: &str) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(aws_region.to_owned()))
            .endpoint_url(&self.endpoint_url)
            .credentials_provider(SharedCredentialsProvider::new(self.credentials.clone()))
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            )
            .build()
    }

    /// Returns the client for `account` (`None` for the simulator's own).
    async fn client(&self, account: Option<&str>, aws_region: &str) -> aws_sdk_ec2::Client {
        let key = (account.map(str::to_owned), aws_region.to_owned());
        if let Some(client) = lock(&self.clients).get(&key) {
            return client.clone();
        }
        let base = self.base_config(aws_region);
        let mut config = aws_sdk_ec2::config::Builder::from(&base);
        if let Some(account) = account {
            let role = format!("arn:aws:iam::{account}:role/{READ_ROLE_NAME}");
            let provider = AssumeRoleProvider::builder(role)
                .session_name("atlas-sim")
                .configure(&base)
                .build()
                .await;
            config = config.credentials_provider(provider);
        }
        let client = aws_sdk_ec2::Client::from_conf(config.build());
        lock(&self.clients).entry(key).or_insert(client).clone()
    }

    /// Decides whether Atlas would accept `vpce_id` into the endpoint service.
    ///
    /// Rejects an endpoint that EC2 does not know in any searched account
    /// and region, one in state deleting, deleted, failed, expired or
    /// rejected, and one whose service name is not `endpoint_service_name`.
    /// Returns `Err` when EC2 could not be asked, and the link then stays
    /// pending.
    pub async fn decide(
        &self,
        atlas_region: &str,
        vpce_id: &str,
        endpoint_service_name: &str,
    ) -> Result<Acceptance, String> {
        let aws_region = aws_region_name(atlas_region);
        let mut regions = vec![aws_region.as_str()];
        regions.extend(
            self.regions
                .iter()
                .map(String::as_str)
                .filter(|r| *r != aws_region),
        );
        let accounts = std::iter::once(None).chain(self.accounts.iter().map(|a| Some(a.as_str())));
        for account in accounts {
            for region in &regions {
                if let Some(endpoint) = self.find(account, region, vpce_id).await? {
                    return Ok(judge(&endpoint, vpce_id, endpoint_service_name));
                }
            }
        }
        Ok(reject_missing(vpce_id, &regions.join(", ")))
    }

    /// Describes `vpce_id` in one account; `Ok(None)` when EC2 does not know it.
    async fn find(
        &self,
        account: Option<&str>,
        aws_region: &str,
        vpce_id: &str,
    ) -> Result<Option<VpcEndpoint>, String> {
        let result = self
            .client(account, aws_region)
            .await
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(vpce_id)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .vpc_endpoints()
                .iter()
                .find(|e| e.vpc_endpoint_id() == Some(vpce_id))
                .cloned()),
            Err(error) if error.code() == Some(NOT_FOUND_CODE) => Ok(None),
            Err(error) => {
                let error = aws_sdk_ec2::error::DisplayErrorContext(error);
                Err(format!("DescribeVpcEndpoints failed: {error}"))
            }
        }
    }
}

fn reject_missing(vpce_id: &str, aws_regions: &str) -> Acceptance {
    Acceptance::Reject(format!(
        "Interface endpoint {vpce_id} was not found in AWS region {aws_regions}."
    ))
}

fn judge(endpoint: &VpcEndpoint, vpce_id: &str, endpoint_service_name: &str) -> Acceptance {
    // EC2 sends VPC endpoint states in lower camel case ("available"), while
    // the SDK enum spells them in upper camel case, so compare the text.
    let state = endpoint
        .state()
        .map(|s| s.as_str().to_ascii_lowercase())
        .unwrap_or_default();
    let dead_states = ["deleting", "deleted", "failed", "expired", "rejected"];
    if dead_states.contains(&state.as_str()) {
        return Acceptance::Reject(format!(
            "Interface endpoint {vpce_id} is in state {state} in AWS."
        ));
    }
    let service_name = endpoint.service_name().unwrap_or_default();
    if service_name != endpoint_service_name {
        return Acceptance::Reject(format!(
            "Interface endpoint {vpce_id} connects to {service_name}, \
             not to endpoint service {endpoint_service_name}."
        ));
    }
    Acceptance::Accept
}

/// Converts an Atlas region name (`US_EAST_1`) to the AWS form (`us-east-1`).
pub(crate) fn aws_region_name(atlas_region: &str) -> String {
    atlas_region.to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::State;

    #[test]
    fn region_names_convert() {
        assert_eq!(aws_region_name("US_EAST_1"), "us-east-1");
        assert_eq!(aws_region_name("US_GOV_WEST_1"), "us-gov-west-1");
    }

    fn endpoint(state: &str, service: &str) -> VpcEndpoint {
        VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-0123456789abcdef0")
            .state(State::from(state))
            .service_name(service)
            .build()
    }

    #[test]
    fn judge_accepts_live_endpoint() {
        let verdict = judge(
            &endpoint("available", "svc"),
            "vpce-0123456789abcdef0",
            "svc",
        );
        assert_eq!(verdict, Acceptance::Accept);
        let pending = judge(&endpoint("pendingAcceptance", "svc"), "vpce-0", "svc");
        assert_eq!(pending, Acceptance::Accept);
    }

    #[test]
    fn judge_rejects_deleted_endpoint() {
        let verdict = judge(&endpoint("deleted", "svc"), "vpce-0", "svc");
        assert!(matches!(verdict, Acceptance::Reject(_)));
    }

    #[test]
    fn judge_rejects_other_service() {
        let verdict = judge(&endpoint("available", "other"), "vpce-0", "svc");
        assert!(matches!(verdict, Acceptance::Reject(_)));
    }
}
