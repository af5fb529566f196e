//! The reconcile function's handler: runs one sweep within the invocation's remaining time,
//! logs one line per endpoint, publishes metrics and returns the JSON result.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tracing::{error, info};

use crate::config::Settings;
use crate::domain::report::{Action, EndpointReport};
use crate::domain::verdict::Verdict;
use crate::error::LinkerError;
use crate::handler::{ContainerState, log_endpoint, remaining_time};
use crate::linker::sweep::SweepOptions;
use crate::metrics::{Metrics, NO_PROJECT};

/// Counts over one sweep, for a quick look at the result.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepSummary {
    pub in_sync: usize,
    pub converging: usize,
    pub mismatch: usize,
    pub overdue: usize,
    pub linked: usize,
    pub unlinked: usize,
    pub repaired: usize,
    pub unmanaged: usize,
    pub would_link: usize,
    pub would_unlink: usize,
    pub would_repair: usize,
}

impl SweepSummary {
    fn of(endpoints: &[EndpointReport]) -> Self {
        let mut summary = Self::default();
        for endpoint in endpoints {
            match endpoint.verdict {
                Some(Verdict::InSync) => summary.in_sync += 1,
                Some(Verdict::Converging) => summary.converging += 1,
                Some(Verdict::Mismatch) => summary.mismatch += 1,
                None => {}
            }
            match endpoint.action {
                Action::Linked => summary.linked += 1,
                Action::Unlinked => summary.unlinked += 1,
                Action::Repaired => summary.repaired += 1,
                Action::Unmanaged => summary.unmanaged += 1,
                Action::WouldLink => summary.would_link += 1,
                Action::WouldUnlink => summary.would_unlink += 1,
                Action::WouldRepair => summary.would_repair += 1,
                _ => {}
            }
            summary.overdue += usize::from(endpoint.overdue);
        }
        summary
    }
}

/// The reconcile function's JSON result.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepResult {
    pub dry_run: bool,
    pub summary: SweepSummary,
    pub endpoints: Vec<EndpointReport>,
}

/// The reconcile function's state, kept for the life of the container.
pub struct ReconcileFunction {
    state: ContainerState,
}

impl ReconcileFunction {
    pub fn new(settings: Settings, aws: SdkConfig) -> Self {
        Self {
            state: ContainerState::new(settings, aws),
        }
    }

    /// Runs one sweep. The event (a scheduled event, or anything when invoked by hand) only
    /// names the run in the logs.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, LinkerError> {
        let (payload, context) = event.into_parts();
        let event_id = payload
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let result = self
            .sweep(&event_id, &context.invoked_function_arn, context.deadline)
            .await;
        if let Err(e) = &result {
            error!(event_id, error_type = e.error_type(), error = %e, "reconcile sweep failed; the next scheduled sweep tries again");
            let mut metrics = Metrics::default();
            metrics.add(NO_PROJECT, "Errors");
            metrics.emit();
        }
        result
    }

    async fn sweep(
        &self,
        event_id: &str,
        function_arn: &str,
        deadline_ms: u64,
    ) -> Result<Value, LinkerError> {
        let settings = &self.state.settings;
        let linker = self.state.linker(function_arn).await?;
        let other_accounts = linker.other_accounts();
        info!(
            event_id,
            dry_run = settings.dry_run,
            other_accounts = other_accounts.listed.len(),
            unlisted_accounts = other_accounts.unlisted,
            "reconcile sweep started"
        );
        let budget = remaining_time(deadline_ms).saturating_sub(settings.deadline_margin);
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let options = SweepOptions {
            extra_regions: settings.reconcile_regions.clone(),
            mismatch_age_limit: settings.mismatch_age_limit,
            now_unix,
            wait_until: tokio::time::Instant::now() + settings.wait_budget.min(budget / 2),
        };
        let sweep = match tokio::time::timeout(budget, linker.sweep(&options)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(LinkerError::TimedOut {
                    operation: "running the reconcile sweep",
                    budget_ms: budget.as_millis(),
                });
            }
        };

        let mut metrics = Metrics::default();
        for endpoint in &sweep.endpoints {
            let account_id = endpoint.account_id.as_deref().unwrap_or("");
            log_endpoint(event_id, "ReconcileSweep", account_id, endpoint);
            metrics.add_report(endpoint);
        }
        metrics.emit();
        let result = SweepResult {
            dry_run: settings.dry_run,
            summary: SweepSummary::of(&sweep.endpoints),
            endpoints: sweep.endpoints,
        };
        info!(
            event_id,
            in_sync = result.summary.in_sync,
            converging = result.summary.converging,
            mismatch = result.summary.mismatch,
            overdue = result.summary.overdue,
            linked = result.summary.linked,
            unlinked = result.summary.unlinked,
            repaired = result.summary.repaired,
            unmanaged = result.summary.unmanaged,
            "reconcile sweep finished"
        );
        if let Some((_, first)) = sweep.unreadable_accounts.first() {
            // The sweep of the readable accounts is done and logged above. The error makes the
            // invocation fail, so that the function's Errors alarm reports the missing accounts.
            let accounts: Vec<&str> = sweep
                .unreadable_accounts
                .iter()
                .map(|(account, _)| account.as_str())
                .collect();
            let mut error = first.clone();
            error.message = format!(
                "{}; accounts not swept: {}, the others were",
                error.message,
                accounts.join(", ")
            );
            return Err(LinkerError::Ec2(error));
        }
        Ok(serde_json::to_value(&result)
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() })))
    }
}
