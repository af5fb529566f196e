//! The start-up both functions share: JSON logging, the settings and the AWS SDK configuration.

use aws_config::SdkConfig;

use crate::config::{ConfigError, Settings};

/// Installs logging, then reads the settings and loads the AWS SDK configuration. An invalid
/// setting is logged and returned, so the function stops before its first invocation.
pub async fn start() -> Result<(Settings, SdkConfig), ConfigError> {
    crate::logging::init();

    let settings = Settings::from_env().inspect_err(|error| {
        tracing::error!(error = %error, "invalid configuration");
    })?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok((settings, aws))
}
