//! Runs a compiled Lambda function binary the way AWS Lambda does.
//!
//! [`FunctionProcess::spawn`] starts a Runtime API emulator on a free
//! 127.0.0.1 port and the function binary with the environment Lambda gives a
//! custom runtime. [`FunctionProcess::invoke`] queues one event, waits for the
//! function to fetch it from `/next` and returns what it posted back.

mod api;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::output::{LogBuffer, capture_lines};
use crate::{DEFAULT_REGION, DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, HarnessError};
use api::{EmulatorState, Outcome, QueuedEvent};

/// Account id in the function ARN that the emulator sends. It is the
/// placeholder account id used in AWS documentation.
pub const FUNCTION_ACCOUNT_ID: &str = "111122223333";

/// Default `AWS_ENDPOINT_URL` for a function whose caller does not set one.
/// Nothing listens on the discard port of the loopback address, so an AWS
/// call the test did not prepare for fails at once instead of reaching AWS.
pub const UNREACHABLE_ENDPOINT_URL: &str = "http://127.0.0.1:9";

/// How long to wait for output readers after the process exits, so the log
/// in an error contains the last lines the function wrote.
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Sequence number for request and trace ids, unique within this process.
static INVOCATION_SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// Result of one invocation that reached the function.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function posted a response, parsed as JSON.
    Ok(Value),
    /// The function posted to the invocation's `/error` endpoint, or its
    /// response exceeded Lambda's payload limit.
    FunctionError {
        error_type: String,
        error_message: String,
    },
}

impl Invocation {
    /// Returns the response, or `None` for a function error.
    pub fn response(&self) -> Option<&Value> {
        match self {
            Invocation::Ok(value) => Some(value),
            Invocation::FunctionError { .. } => None,
        }
    }

    pub fn is_function_error(&self) -> bool {
        matches!(self, Invocation::FunctionError { .. })
    }
}

/// Error document that a function posted to `/2018-06-01/runtime/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    pub error_type: String,
    pub error_message: String,
}

/// A function binary running behind its own Runtime API emulator.
///
/// Dropping it kills the process and stops the emulator.
pub struct FunctionProcess {
    state: Arc<EmulatorState>,
    events: mpsc::UnboundedSender<QueuedEvent>,
    logs: Arc<LogBuffer>,
    exit_status: watch::Receiver<Option<String>>,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    server: JoinHandle<()>,
    invoke_lock: tokio::sync::Mutex<()>,
    runtime_api: SocketAddr,
    function_arn: String,
    pid: Option<u32>,
    spawned_at: Instant,
}

impl FunctionProcess {
    /// Starts the emulator on 127.0.0.1 and the function binary with it.
    ///
    /// The child starts from an empty environment and gets what Lambda sets
    /// for a custom runtime: `AWS_LAMBDA_RUNTIME_API`,
    /// `AWS_LAMBDA_FUNCTION_NAME` (default: the binary's file name),
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128`, `AWS_LAMBDA_FUNCTION_VERSION`,
    /// `AWS_LAMBDA_LOG_FORMAT=JSON`, `AWS_REGION` and `AWS_DEFAULT_REGION`
    /// (default: us-east-1), the dummy credentials,
    /// `AWS_EC2_METADATA_DISABLED=true` and `AWS_ENDPOINT_URL` (default:
    /// [`UNREACHABLE_ENDPOINT_URL`]). Entries in `env` override these defaults,
    /// except `AWS_LAMBDA_RUNTIME_API`, which always points at the emulator.
    pub async fn spawn(binary: &Path, env: &[(String, String)]) -> Result<Self, HarnessError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(HarnessError::Bind)?;
        let runtime_api = listener.local_addr().map_err(HarnessError::Bind)?;

        let (state, events) = EmulatorState::new();
        let app = api::router(state.clone());
        let server = tokio::spawn(async move {
            // The server only stops when the task is aborted on drop, and a
            // serve error leaves the function without an API, which shows up
            // as a timeout in `invoke`.
            let _ = axum::serve(listener, app).await;
        });

        let child_env = function_env(binary, env, runtime_api);
        let function_arn = function_arn(&child_env);

        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(child_env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);

        let spawned_at = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(source) => {
                server.abort();
                return Err(HarnessError::Spawn {
                    program: binary.to_path_buf(),
                    source,
                });
            }
        };

        let pid = child.id();
        let logs = LogBuffer::new(usize::MAX);
        let readers = [
            child
                .stdout
                .take()
                .map(|out| capture_lines(out, logs.clone())),
            child
                .stderr
                .take()
                .map(|err| capture_lines(err, logs.clone())),
        ];
        let (kill_tx, kill_rx) = oneshot::channel();
        let (exit_tx, exit_status) = watch::channel(None);
        tokio::spawn(supervise(child, readers, kill_rx, exit_tx));

        Ok(FunctionProcess {
            state,
            events,
            logs,
            exit_status,
            kill: Mutex::new(Some(kill_tx)),
            server,
            invoke_lock: tokio::sync::Mutex::new(()),
            runtime_api,
            function_arn,
            pid,
            spawned_at,
        })
    }

    /// Sends one event and waits for the function's result.
    ///
    /// `timeout` runs from this call, so it also covers any init work the
    /// function has not finished yet. The deadline header sent to the function is
    /// the same instant. On timeout the process is killed, as Lambda does, and
    /// every later call fails with [`HarnessError::ProcessExited`]. Calls on one
    /// process run one after another, because a Lambda execution environment
    /// handles one event at a time.
    pub async fn invoke(
        &self,
        event: &Value,
        timeout: Duration,
    ) -> Result<Invocation, HarnessError> {
        let _turn = self.invoke_lock.lock().await;
        self.check_usable()?;

        let sequence = INVOCATION_SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let request_id = request_id(sequence);
        let deadline = SystemTime::now() + timeout;
        let queued = QueuedEvent {
            request_id: request_id.clone(),
            body: serde_json::to_vec(event).expect("a serde_json::Value always serializes"),
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
            function_arn: self.function_arn.clone(),
            trace_id: trace_id(sequence),
        };

        let outcome = self.state.expect_outcome(&request_id);
        if self.events.send(queued).is_err() {
            self.state.forget(&request_id);
            return Err(self.exited_error());
        }

        let mut exit_status = self.exit_status.clone();
        let mut init_error = self.state.init_error.subscribe();
        let result = tokio::select! {
            biased;
            outcome = outcome => outcome,
            _ = init_error.wait_for(Option::is_some) => {
                self.state.forget(&request_id);
                return Err(self.init_failed_error());
            }
            _ = exit_status.wait_for(Option::is_some) => {
                self.state.forget(&request_id);
                return Err(self.exited_error());
            }
            _ = tokio::time::sleep(timeout) => {
                self.state.forget(&request_id);
                self.kill_and_wait().await;
                return Err(HarnessError::Timeout { timeout, logs: self.logs() });
            }
        };

        match result {
            Ok(Outcome::Response(body)) => match serde_json::from_slice(&body) {
                Ok(value) => Ok(Invocation::Ok(value)),
                Err(source) => Err(HarnessError::InvalidResponse {
                    body: String::from_utf8_lossy(&body).into_owned(),
                    source,
                    logs: self.logs(),
                }),
            },
            Ok(Outcome::Error {
                error_type,
                error_message,
            }) => Ok(Invocation::FunctionError {
                error_type,
                error_message,
            }),
            // The sender sits in the emulator state, which lives as long as
            // `self`, so it is only dropped by `forget`, which this call alone
            // makes for its own request id.
            Err(_) => Err(self.exited_error()),
        }
    }

    /// Returns all output lines captured from the function's stdout and
    /// stderr so far, in arrival order. The two pipes are read separately, so
    /// lines written close together to different streams can swap places.
    pub fn logs(&self) -> Vec<String> {
        self.logs.snapshot()
    }

    /// Returns the error the function posted to `/runtime/init/error`, if any.
    pub fn init_error(&self) -> Option<InitError> {
        self.state.init_error.borrow().clone()
    }

    /// Returns the exit status once the process has exited, as text such as
    /// `exit status: 1` or `signal: 9 (SIGKILL)`.
    pub fn exit_status(&self) -> Option<String> {
        self.exit_status.borrow().clone()
    }

    /// Returns the time from spawning the process to its first `/next`
    /// request, or `None` if it has not polled yet. This is the cold-start
    /// init time of the function's own process, without Lambda's sandbox
    /// setup.
    pub fn init_duration(&self) -> Option<Duration> {
        let first_next = self.state.first_next_at.get()?;
        Some(first_next.duration_since(self.spawned_at))
    }

    /// Waits until the function makes its first `/next` request and returns
    /// [`Self::init_duration`].
    ///
    /// Fails if the function reports an init error, exits, or does not poll
    /// within `timeout`. Unlike [`Self::invoke`], a timeout here leaves the
    /// process running.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Duration, HarnessError> {
        let mut ready = self.state.ready.subscribe();
        let mut exit_status = self.exit_status.clone();
        let mut init_error = self.state.init_error.subscribe();
        tokio::select! {
            biased;
            _ = ready.wait_for(|ready| *ready) => {}
            _ = init_error.wait_for(Option::is_some) => return Err(self.init_failed_error()),
            _ = exit_status.wait_for(Option::is_some) => return Err(self.exited_error()),
            _ = tokio::time::sleep(timeout) => {
                return Err(HarnessError::Timeout { timeout, logs: self.logs() });
            }
        }
        Ok(self
            .init_duration()
            .expect("ready is set only after the first /next time is recorded"))
    }

    /// Address of the emulator, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api_addr(&self) -> SocketAddr {
        self.runtime_api
    }

    /// Process id of the function, or `None` if the OS did not report one.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// ARN the emulator sends in `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> &str {
        &self.function_arn
    }

    fn check_usable(&self) -> Result<(), HarnessError> {
        if self.init_error().is_some() {
            return Err(self.init_failed_error());
        }
        if self.exit_status().is_some() {
            return Err(self.exited_error());
        }
        Ok(())
    }

    fn init_failed_error(&self) -> HarnessError {
        let error = self
            .init_error()
            .expect("called only after an init error was recorded");
        HarnessError::InitFailed {
            error_type: error.error_type,
            error_message: error.error_message,
            logs: self.logs(),
        }
    }

    /// Builds the error for an exited process. An init error posted before the
    /// exit takes precedence, because it explains the exit.
    fn exited_error(&self) -> HarnessError {
        if self.init_error().is_some() {
            return self.init_failed_error();
        }
        HarnessError::ProcessExited {
            status: self
                .exit_status()
                .unwrap_or_else(|| "status unknown".to_owned()),
            logs: self.logs(),
        }
    }

    async fn kill_and_wait(&self) {
        let kill = self.kill.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(kill) = kill {
            let _ = kill.send(());
        }
        let mut exit_status = self.exit_status.clone();
        let _ = tokio::time::timeout(LOG_DRAIN_TIMEOUT * 2, exit_status.wait_for(Option::is_some))
            .await;
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        // Dropping the sender makes the supervisor kill the child. If the
        // runtime is already shutting down, the supervisor task is dropped
        // instead, and `kill_on_drop` kills the child.
        self.kill.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.server.abort();
    }
}

/// Builds the child's environment in the order Lambda's defaults, the
/// caller's entries, then the emulator address.
fn function_env(
    binary: &Path,
    overrides: &[(String, String)],
    runtime_api: SocketAddr,
) -> Vec<(String, String)> {
    let lookup = |key: &str| {
        overrides
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let function_name = lookup("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| {
        binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "function".to_owned())
    });
    let region = lookup("AWS_REGION").unwrap_or_else(|| DEFAULT_REGION.to_owned());

    let defaults = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", function_name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function_name}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "local/[$LATEST]harness".to_owned(),
        ),
        ("AWS_REGION", region.clone()),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_ACCESS_KEY.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_ENDPOINT_URL", UNREACHABLE_ENDPOINT_URL.to_owned()),
        // Keeps the SDK from reading a developer's ~/.aws profiles.
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
    ];

    let mut env: Vec<(String, String)> = defaults
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.extend(overrides.iter().cloned());
    env.push(("AWS_LAMBDA_RUNTIME_API".to_owned(), runtime_api.to_string()));
    env
}

fn function_arn(env: &[(String, String)]) -> String {
    let value = |key: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    format!(
        "arn:aws:lambda:{}:{FUNCTION_ACCOUNT_ID}:function:{}",
        value("AWS_REGION"),
        value("AWS_LAMBDA_FUNCTION_NAME")
    )
}

/// Formats a request id in the UUID layout Lambda uses. The ids are unique
/// within this process but not random.
fn request_id(sequence: u64) -> String {
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        std::process::id(),
        sequence
    )
}

/// Formats an X-Ray trace header for an unsampled trace.
fn trace_id(sequence: u64) -> String {
    let epoch_seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!(
        "Root=1-{epoch_seconds:08x}-{:012x}{sequence:012x};Parent={sequence:016x};Sampled=0",
        std::process::id()
    )
}

/// Waits for the child to exit or for a kill request, then drains the output
/// readers and publishes the exit status.
async fn supervise(
    mut child: Child,
    readers: [Option<JoinHandle<()>>; 2],
    kill: oneshot::Receiver<()>,
    exit_tx: watch::Sender<Option<String>>,
) {
    let status = tokio::select! {
        status = child.wait() => status,
        _ = kill => {
            // start_kill fails only if the child already exited, and wait
            // returns its status either way.
            let _ = child.start_kill();
            child.wait().await
        }
    };
    let status = match status {
        Ok(status) => status.to_string(),
        Err(error) => format!("wait failed: {error}"),
    };

    for reader in readers.into_iter().flatten() {
        // A grandchild that inherited the pipes can keep them open, so the
        // drain is bounded.
        let _ = tokio::time::timeout(LOG_DRAIN_TIMEOUT, reader).await;
    }
    exit_tx.send_replace(Some(status));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_value<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn env_defaults() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let env = function_env(Path::new("/x/linker-events"), &[], addr);
        assert_eq!(
            env_value(&env, "AWS_LAMBDA_RUNTIME_API"),
            Some("127.0.0.1:4000")
        );
        assert_eq!(
            env_value(&env, "AWS_LAMBDA_FUNCTION_NAME"),
            Some("linker-events")
        );
        assert_eq!(
            env_value(&env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
            Some("128")
        );
        assert_eq!(env_value(&env, "AWS_LAMBDA_LOG_FORMAT"), Some("JSON"));
        assert_eq!(env_value(&env, "AWS_REGION"), Some("us-east-1"));
        assert_eq!(env_value(&env, "AWS_ACCESS_KEY_ID"), Some("testing"));
        assert_eq!(env_value(&env, "AWS_SECRET_ACCESS_KEY"), Some("testing"));
        assert_eq!(env_value(&env, "AWS_EC2_METADATA_DISABLED"), Some("true"));
        assert_eq!(
            env_value(&env, "AWS_ENDPOINT_URL"),
            Some(UNREACHABLE_ENDPOINT_URL)
        );
        assert_eq!(
            function_arn(&env),
            "arn:aws:lambda:us-east-1:111122223333:function:linker-events"
        );
    }

    #[test]
    fn env_overrides() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let overrides = vec![
            ("AWS_REGION".to_owned(), "eu-west-1".to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "linker".to_owned()),
            (
                "AWS_ENDPOINT_URL".to_owned(),
                "http://127.0.0.1:5000".to_owned(),
            ),
            (
                "AWS_LAMBDA_RUNTIME_API".to_owned(),
                "127.0.0.1:1".to_owned(),
            ),
        ];
        let env = function_env(Path::new("/x/bootstrap"), &overrides, addr);
        assert_eq!(env_value(&env, "AWS_REGION"), Some("eu-west-1"));
        assert_eq!(env_value(&env, "AWS_DEFAULT_REGION"), Some("eu-west-1"));
        assert_eq!(
            env_value(&env, "AWS_ENDPOINT_URL"),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            env_value(&env, "AWS_LAMBDA_RUNTIME_API"),
            Some("127.0.0.1:4000")
        );
        assert_eq!(
            function_arn(&env),
            "arn:aws:lambda:eu-west-1:111122223333:function:linker"
        );
    }

    #[test]
    fn request_id_layout() {
        let id = request_id(42);
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12]);
        assert!(id.ends_with("00000000002a"));
    }
}
