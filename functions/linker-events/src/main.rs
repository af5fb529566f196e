//! The event function: links and unlinks Atlas private endpoints from the CloudTrail records of
//! `CreateVpcEndpoint` and `DeleteVpcEndpoints` that EventBridge delivers.

use lambda_runtime::{LambdaEvent, service_fn};
use linker_core::config::Settings;
use linker_core::handler::EventFunction;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    linker_core::logging::init();

    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!(error = %error, "invalid configuration");
            return Err(error.into());
        }
    };
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let function = EventFunction::new(settings, aws);

    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        function.handle(event)
    }))
    .await
}
