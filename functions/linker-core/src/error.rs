//! Error types by layer, and the stable error type each maps to at the Lambda edge so that
//! operators can alarm on them: `InvalidEvent`, `Configuration`, `Retryable` or `AtlasError`.

use crate::domain::event::InvalidEvent;

/// The kind of a failure, from which an operator decides how to treat it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Likely to pass on a later attempt: throttling, 5xx, time-outs, connection errors.
    Retryable,
    /// Credentials, roles or settings are wrong; retries will not help until they are fixed.
    Configuration,
    /// The service rejected the request for another reason, which the message names.
    Rejected,
}

/// A failed Atlas Admin API call, with the fields of Atlas's error body when it sent one.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct AtlasError {
    pub operation: &'static str,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Atlas's `errorCode`, such as `RATE_LIMITED`.
    pub error_code: Option<String>,
    pub message: String,
    pub class: ErrorClass,
}

/// A failed EC2 call.
#[derive(Clone, Debug, thiserror::Error)]
#[error("EC2 {operation} in {location} failed: {message}")]
pub struct Ec2Error {
    pub operation: &'static str,
    /// The region, and the account when the call names one.
    pub location: String,
    /// The EC2 error code, such as `UnauthorizedOperation`.
    pub code: Option<String>,
    pub message: String,
    pub class: ErrorClass,
}

/// Any failure of one invocation.
#[derive(Debug, thiserror::Error)]
pub enum LinkerError {
    #[error(transparent)]
    InvalidEvent(#[from] InvalidEvent),
    #[error(transparent)]
    Atlas(#[from] AtlasError),
    #[error(transparent)]
    Ec2(#[from] Ec2Error),
    #[error("configuration error: {0}")]
    Configuration(String),
    /// The work did not finish before the time kept free at the end of the invocation.
    #[error("{operation} failed: timed out after {budget_ms} ms, before the invocation's deadline")]
    TimedOut {
        operation: &'static str,
        budget_ms: u128,
    },
}

impl LinkerError {
    /// Returns the stable error type reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        let class = match self {
            Self::InvalidEvent(_) => return "InvalidEvent",
            Self::Configuration(_) => ErrorClass::Configuration,
            Self::TimedOut { .. } => ErrorClass::Retryable,
            Self::Atlas(error) => error.class,
            Self::Ec2(error) => error.class,
        };
        match (class, self) {
            (ErrorClass::Retryable, _) => "Retryable",
            (ErrorClass::Configuration, _) => "Configuration",
            (ErrorClass::Rejected, Self::Ec2(_)) => "Ec2Error",
            (ErrorClass::Rejected, _) => "AtlasError",
        }
    }
}

impl From<LinkerError> for lambda_runtime::Diagnostic {
    fn from(error: LinkerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Joins an error with its sources: the SDKs put the useful part of a message in the sources.
pub fn display_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
