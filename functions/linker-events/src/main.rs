//! The event function: links and unlinks Atlas private endpoints from the CloudTrail records of
//! `CreateVpcEndpoint` and `DeleteVpcEndpoints` that EventBridge delivers.

use lambda_runtime::{LambdaEvent, service_fn};
use linker_core::handler::EventFunction;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, aws) = linker_core::startup::start().await?;
    let function = EventFunction::new(settings, aws);

    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        function.handle(event)
    }))
    .await
}
