//! Error type shared by every harness module.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Command that installs moto into the workspace's virtual environment.
pub const MOTO_INSTALL_HINT: &str =
    "python3 -m venv .venv && .venv/bin/pip install 'moto[server]' (run in the workspace root)";

/// Failure of a harness operation.
///
/// Variants that concern a running function carry the output lines captured
/// from it so far, and their `Display` output includes them.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("failed to start {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("failed to bind the Runtime API emulator on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),

    #[error("function reported an init error {error_type}: {error_message}{}", LogLines(.logs))]
    InitFailed {
        error_type: String,
        error_message: String,
        logs: Vec<String>,
    },

    #[error("function process exited ({status}) before it returned a result{}", LogLines(.logs))]
    ProcessExited { status: String, logs: Vec<String> },

    #[error("function timed out after {timeout:?} and was killed{}", LogLines(.logs))]
    Timeout {
        timeout: Duration,
        logs: Vec<String>,
    },

    #[error("function response is not valid JSON ({source}): {body}{}", LogLines(.logs))]
    InvalidResponse {
        body: String,
        #[source]
        source: serde_json::Error,
        logs: Vec<String>,
    },

    #[error(
        "moto_server not found (tried {}); install it with: {}",
        DisplayPaths(.tried),
        MOTO_INSTALL_HINT
    )]
    MotoNotFound { tried: Vec<PathBuf> },

    #[error("moto_server at {program} failed to start: {reason}{}", LogLines(.logs))]
    MotoStart {
        program: PathBuf,
        reason: String,
        logs: Vec<String>,
    },

    #[error("AWS call {operation} failed: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },

    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is not valid JSON: {source}")]
    ParseJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "workspace root not found: no Cargo.toml with a [workspace] table above {}",
        DisplayPaths(.searched)
    )]
    WorkspaceNotFound { searched: Vec<PathBuf> },

    #[error("built binary {name} not found (looked in {}); build it with: {hint}", DisplayPaths(.searched))]
    BinaryNotFound {
        name: String,
        searched: Vec<PathBuf>,
        hint: String,
    },
}

impl HarnessError {
    /// Builds an [`HarnessError::Aws`] from an SDK error, keeping its full
    /// source chain in the message.
    pub(crate) fn aws<E>(operation: &'static str, error: E) -> Self
    where
        E: std::error::Error,
    {
        HarnessError::Aws {
            operation,
            message: aws_sdk_ec2::error::DisplayErrorContext(error).to_string(),
        }
    }
}

/// Captured output lines, shown after an error message.
struct LogLines<'a>(&'a [String]);

impl fmt::Display for LogLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "\n(no output captured)");
        }
        write!(f, "\ncaptured output ({} lines):", self.0.len())?;
        for line in self.0 {
            write!(f, "\n  | {line}")?;
        }
        Ok(())
    }
}

struct DisplayPaths<'a>(&'a [PathBuf]);

impl fmt::Display for DisplayPaths<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined: Vec<String> = self.0.iter().map(|p| p.display().to_string()).collect();
        write!(f, "{}", joined.join(", "))
    }
}
