//! The reconcile function: on a schedule, compares every Atlas endpoint service of the
//! configured projects with the EC2 endpoints that target it, links endpoints that events
//! missed, unlinks managed links whose endpoint is gone, repairs failed links once, and reports
//! every pair.

use lambda_runtime::{LambdaEvent, service_fn};
use linker_core::reconcile::ReconcileFunction;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, aws) = linker_core::startup::start().await?;
    let function = ReconcileFunction::new(settings, aws);

    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        function.handle(event)
    }))
    .await
}
