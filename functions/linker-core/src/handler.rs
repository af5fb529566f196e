//! The event function's handler: reads the delivery, runs the linker within the invocation's
//! remaining time, logs one line per endpoint and returns the JSON result.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::{error, info, warn};

use crate::atlas::{AtlasClient, RetryPolicy};
use crate::aws::ec2::{Ec2Adapter, OwnIdentity};
use crate::aws::secrets::read_atlas_secret;
use crate::config::{CredentialSource, Settings, validate_url};
use crate::domain::event::{Intent, read_event, read_meta};
use crate::domain::ids::AccountId;
use crate::domain::report::{Action, EndpointReport, InvocationReport, Outcome};
use crate::error::LinkerError;
use crate::linker::{Linker, OtherAccounts};
use crate::metrics::{Metrics, NO_PROJECT};

/// The linker as the functions use it: real EC2 and Atlas adapters.
pub type LiveLinker = Linker<Ec2Adapter, AtlasClient>;

/// The state both functions keep for the life of the container: the settings, the AWS SDK
/// configuration, and the linker built from them at the first invocation.
pub(crate) struct ContainerState {
    pub(crate) settings: Settings,
    aws: SdkConfig,
    linker: OnceCell<LiveLinker>,
}

impl ContainerState {
    pub(crate) fn new(settings: Settings, aws: SdkConfig) -> Self {
        Self {
            settings,
            aws,
            linker: OnceCell::new(),
        }
    }

    /// Returns the linker, building it at the first invocation: reading the credentials secret
    /// needs the network, which the init phase should not wait for. `function_arn`, the ARN
    /// the function was invoked with, names the function's own account.
    pub(crate) async fn linker(&self, function_arn: &str) -> Result<&LiveLinker, LinkerError> {
        self.linker
            .get_or_try_init(|| build_linker(&self.settings, &self.aws, function_arn))
            .await
    }
}

/// The event function's state, kept for the life of the container.
pub struct EventFunction {
    state: ContainerState,
}

impl EventFunction {
    pub fn new(settings: Settings, aws: SdkConfig) -> Self {
        Self {
            state: ContainerState::new(settings, aws),
        }
    }

    /// Handles one delivery and publishes its metrics; a failure counts as one error.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, LinkerError> {
        let result = self.handle_event(event).await;
        if result.is_err() {
            let mut metrics = Metrics::default();
            metrics.add(NO_PROJECT, "Errors");
            metrics.emit();
        }
        result
    }

    async fn handle_event(&self, event: LambdaEvent<Value>) -> Result<Value, LinkerError> {
        let (payload, context) = event.into_parts();
        let meta = read_meta(&payload);
        let event_id = meta.event_id.as_deref().unwrap_or("");
        let event_name = meta.event_name.as_deref().unwrap_or("");
        let account_id = meta.account_id.as_deref().unwrap_or("");

        let intent = match read_event(&payload) {
            Ok(intent) => intent,
            Err(invalid) => {
                error!(event_id, event_name, error = %invalid, "rejected an invalid event; it stays in the dead-letter queue after Lambda's retries");
                return Err(invalid.into());
            }
        };
        let mut report = InvocationReport {
            event_id: meta.event_id.clone(),
            event_name: meta.event_name.clone(),
            outcome: Outcome::Ignored,
            reason: None,
            dry_run: self.state.settings.dry_run,
            endpoints: Vec::new(),
        };
        if let Intent::Ignore(reason) = &intent {
            info!(
                event_id,
                event_name,
                account_id,
                reason = reason.as_str(),
                "event ignored"
            );
            report.reason = Some(reason.clone());
            return Ok(to_json(&report));
        }

        let linker = self.state.linker(&context.invoked_function_arn).await.inspect_err(|e| {
            error!(event_id, error_type = e.error_type(), error = %e, "cannot build the Atlas client");
        })?;
        let settings = &self.state.settings;
        let budget = remaining_time(context.deadline).saturating_sub(settings.deadline_margin);
        let wait_until = tokio::time::Instant::now() + settings.wait_budget.min(budget / 2);
        let endpoints = match tokio::time::timeout(budget, linker.apply(&intent, wait_until)).await
        {
            Ok(Ok(endpoints)) => endpoints,
            Ok(Err(e)) => {
                error!(event_id, event_name, error_type = e.error_type(), error = %e, "event failed; Lambda retries it and the dead-letter queue keeps it if retries fail");
                return Err(e);
            }
            Err(_) => {
                let e = LinkerError::TimedOut {
                    operation: "handling the event",
                    budget_ms: budget.as_millis(),
                };
                error!(event_id, event_name, error_type = e.error_type(), error = %e, "event failed; Lambda retries it");
                return Err(e);
            }
        };

        for endpoint in &endpoints {
            log_endpoint(event_id, event_name, account_id, endpoint);
        }
        let acted = endpoints.iter().any(|e| e.action != Action::Ignored);
        report.outcome = if acted {
            Outcome::Processed
        } else {
            Outcome::Ignored
        };
        if !acted {
            report.reason = endpoints.iter().find_map(|e| e.detail.clone());
        }
        report.endpoints = endpoints;
        let mut metrics = Metrics::default();
        report.endpoints.iter().for_each(|e| metrics.add_report(e));
        metrics.emit();
        Ok(to_json(&report))
    }
}

/// Logs one endpoint's outcome as a structured line with every field of the report.
pub(crate) fn log_endpoint(
    event_id: &str,
    event_name: &str,
    account_id: &str,
    endpoint: &EndpointReport,
) {
    info!(
        event_id,
        event_name,
        account_id,
        vpc_endpoint_id = endpoint.vpc_endpoint_id.as_str(),
        action = endpoint.action.as_str(),
        project_id = endpoint.project_id.as_ref().map(|p| p.as_str()),
        endpoint_service_id = endpoint.endpoint_service_id.as_ref().map(|s| s.as_str()),
        ec2_state = endpoint.ec2_state.as_deref(),
        atlas_status = endpoint.atlas_status.as_deref(),
        atlas_delete_requested = endpoint.atlas_delete_requested,
        atlas_error_message = endpoint.atlas_error_message.as_deref(),
        verdict = endpoint.verdict.map(|v| v.as_str()),
        managed = endpoint.managed,
        age_seconds = endpoint.age_seconds,
        overdue = endpoint.overdue,
        detail = endpoint.detail.as_deref(),
        "endpoint checked"
    );
}

async fn build_linker(
    settings: &Settings,
    aws: &SdkConfig,
    function_arn: &str,
) -> Result<LiveLinker, LinkerError> {
    let (credentials, base_url) = match &settings.credentials {
        CredentialSource::Environment(credentials) => {
            (credentials.clone(), settings.base_url.clone())
        }
        CredentialSource::SecretsManager(secret_id) => {
            let contents = read_atlas_secret(aws, secret_id).await?;
            let base_url = match contents.base_url {
                Some(url) => validate_url(&format!("base_url in secret {secret_id}"), &url, false)
                    .map_err(|e| LinkerError::Configuration(e.0))?,
                None => settings.base_url.clone(),
            };
            info!(
                secret_id = secret_id.as_str(),
                "read Atlas credentials from Secrets Manager"
            );
            (contents.credentials, base_url)
        }
    };
    let atlas = AtlasClient::new(&base_url, credentials, RetryPolicy::default())?;
    if settings.dry_run {
        warn!("DRY_RUN is on: nothing is linked or unlinked");
    }
    let own = OwnIdentity::from_function_arn(function_arn);
    if own.is_none() {
        warn!(
            function_arn,
            "cannot read the function's account from its ARN; EC2 is read with the function's own credentials unless CROSS_ACCOUNT_ROLE_NAME is set"
        );
    }
    let other_accounts = other_accounts(settings, own.as_ref());
    Ok(Linker::new(
        Ec2Adapter::new(aws.clone(), settings.cross_account_role.clone(), own),
        atlas,
        settings.projects.clone(),
        settings.dry_run,
        settings.policy.clone(),
    )
    .with_other_accounts(other_accounts))
}

/// Returns the accounts read besides the function's own: with a cross-account role, those of
/// `ALLOWED_ACCOUNT_IDS`, or an open set when that list is unset.
fn other_accounts(settings: &Settings, own: Option<&OwnIdentity>) -> OtherAccounts {
    if settings.cross_account_role.is_none() {
        return OtherAccounts::default();
    }
    let Some(allowed) = &settings.policy.allowed_accounts else {
        return OtherAccounts {
            listed: Vec::new(),
            unlisted: true,
        };
    };
    let listed = allowed
        .iter()
        .filter_map(|id| AccountId::parse(id))
        .filter(|id| own.is_none_or(|own| own.account != *id))
        .collect();
    OtherAccounts {
        listed,
        unlisted: false,
    }
}

/// Returns the time left before `deadline_ms` (milliseconds since the Unix epoch).
pub(crate) fn remaining_time(deadline_ms: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_millis(deadline_ms).saturating_sub(now)
}

fn to_json(report: &InvocationReport) -> Value {
    serde_json::to_value(report).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
}
