//! The sandbox every measurement runs against: moto behind the recording proxy, the Atlas
//! simulator, the built binaries, and the functions' environments.

use std::path::PathBuf;
use std::time::Duration;

use e2e::{CLIENT_ID, CLIENT_SECRET, REGION, Sandbox};
use harness::{FunctionProcess, Invocation};
use serde_json::{Value, json};

use crate::proxy::RecordingProxy;

/// Time allowed for one invocation, including any init work left.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Name of the Secrets Manager secret, in moto, that contains the service-account credentials.
const SECRET_NAME: &str = "atlas-privatelink-linker/bench";

/// Where the Atlas credentials of a function come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// Service-account client id and secret in the environment (OAuth access token).
    ServiceAccount,
    /// Programmatic API key in the environment (HTTP Digest).
    ApiKey,
    /// Service-account credentials in a Secrets Manager secret.
    Secret,
}

/// Paths of the three binaries, from the profile directory of the running benchmark.
pub struct Binaries {
    pub events: PathBuf,
    pub reconcile: PathBuf,
    pub hello: PathBuf,
}

impl Binaries {
    /// Finds the binaries that cargo built next to this one, such as `target/release/*`.
    pub fn find() -> Result<Binaries, String> {
        let find = |name: &str| harness::workspace::built_binary(name).map_err(|e| e.to_string());
        Ok(Binaries {
            events: find("linker-events")?,
            reconcile: find("linker-reconcile")?,
            hello: find("hello-lambda")?,
        })
    }
}

pub struct Setup {
    pub sandbox: Sandbox,
    pub proxy: RecordingProxy,
    pub binaries: Binaries,
}

impl Setup {
    /// Starts moto, the Atlas simulator with one project and endpoint service, the recording
    /// proxy, and stores the service-account credentials in a secret in moto.
    pub async fn start(binaries: Binaries) -> Result<Setup, String> {
        let sandbox = Sandbox::start().await;
        let proxy = RecordingProxy::start(sandbox.moto.endpoint_url()).await?;
        let secret = json!({ "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET });
        sandbox
            .moto
            .create_secret(REGION, SECRET_NAME, &secret)
            .await
            .map_err(|e| format!("failed to create the credentials secret in moto: {e}"))?;
        Ok(Setup {
            sandbox,
            proxy,
            binaries,
        })
    }

    /// Returns a function environment that sends AWS requests through the proxy, logs at INFO,
    /// re-reads nothing after a link or unlink (`WAIT_BUDGET_SECONDS=0`), and takes its Atlas
    /// credentials from `credentials`.
    pub fn env(&self, credentials: Credentials) -> Vec<(String, String)> {
        let mut env = self.sandbox.env();
        set(&mut env, "AWS_ENDPOINT_URL", &self.proxy.url());
        set(&mut env, "WAIT_BUDGET_SECONDS", "0");
        set(&mut env, "AWS_LAMBDA_LOG_LEVEL", "INFO");
        if credentials != Credentials::ApiKey {
            env.retain(|(key, _)| !key.starts_with("MONGODB_ATLAS_P"));
        }
        match credentials {
            Credentials::ApiKey => {}
            Credentials::ServiceAccount => {
                set(&mut env, "MONGODB_ATLAS_CLIENT_ID", CLIENT_ID);
                set(&mut env, "MONGODB_ATLAS_CLIENT_SECRET", CLIENT_SECRET);
            }
            Credentials::Secret => set(&mut env, "ATLAS_CREDENTIALS_SECRET", SECRET_NAME),
        }
        env
    }

    /// Creates an interface endpoint with one subnet to the sandbox's endpoint service.
    pub async fn create_endpoint(&self) -> String {
        self.sandbox.create_endpoint(1).await
    }

    /// Returns the sample create event for `endpoint`.
    pub fn create_event(&self, endpoint: &str) -> Value {
        self.sandbox
            .event("create-interface-one-subnet", &[endpoint])
    }
}

/// Sets `key` to `value`, replacing any earlier entry.
pub fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value.to_owned()));
}

/// Starts a function and waits for its first `/next` request.
pub async fn spawn_ready(
    binary: &std::path::Path,
    env: &[(String, String)],
) -> Result<FunctionProcess, String> {
    let function = FunctionProcess::spawn(binary, env)
        .await
        .map_err(|e| e.to_string())?;
    function
        .wait_ready(INVOKE_TIMEOUT)
        .await
        .map_err(|e| format!("{} did not start: {e}", binary.display()))?;
    Ok(function)
}

/// Invokes the function and returns its result, or the function error as an `Err`.
pub async fn invoke(function: &FunctionProcess, event: &Value) -> Result<Value, String> {
    match function.invoke(event, INVOKE_TIMEOUT).await {
        Ok(Invocation::Ok(value)) => Ok(value),
        Ok(Invocation::FunctionError {
            error_type,
            error_message,
        }) => Err(format!(
            "function returned {error_type}: {error_message}\nlog:\n{}",
            function.logs().join("\n")
        )),
        Err(error) => Err(format!("invocation failed: {error}")),
    }
}

/// Returns the `action` of the first endpoint in a function result.
pub fn first_action(result: &Value) -> &str {
    result["endpoints"][0]["action"].as_str().unwrap_or("none")
}

/// Invokes the function and checks that the first endpoint's action is `expected`, so that a
/// figure is never taken from a path other than the one it names.
pub async fn invoke_expecting(
    function: &FunctionProcess,
    event: &Value,
    expected: &str,
) -> Result<Value, String> {
    let result = invoke(function, event).await?;
    let action = first_action(&result);
    if action != expected {
        return Err(format!(
            "expected action {expected}, got {action}; result: {result}"
        ));
    }
    Ok(result)
}

/// Reads the peak resident set size (`VmHWM`) of a running process, in bytes.
pub fn peak_resident_bytes(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&path).map_err(|e| format!("failed to read {path}: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| format!("{path} has no VmHWM line in kB"))
}

/// Returns the process id of a function, failing if the OS did not report one.
pub fn pid(function: &FunctionProcess) -> Result<u32, String> {
    function
        .pid()
        .ok_or_else(|| "the OS reported no process id for the function".to_owned())
}
