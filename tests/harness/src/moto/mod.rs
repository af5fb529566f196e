//! moto's standalone server as a local stand-in for EC2 and Secrets Manager.
//!
//! [`Moto::start`] runs `moto_server` on a free 127.0.0.1 port and waits until
//! it responds to HTTP requests. One server serves every region, and each region has its own
//! state. The methods in `fixtures.rs` create resources in it through the
//! AWS SDK, as the functions under test do.
//!
//! Behaviour of moto 5.2.5 that tests depend on, checked against its
//! `moto/ec2/models/vpcs.py` and by calling it:
//! - `CreateVpcEndpoint` accepts any `ServiceName`, including names of
//!   PrivateLink services that do not exist, and creates the endpoint in state
//!   `available` at once. Real AWS starts an endpoint to a service that needs
//!   acceptance in `pendingAcceptance`, a state moto never uses.
//! - Without `VpcEndpointType`, moto stores the endpoint but the response fails
//!   with HTTP 500, so the fixtures always set the type.
//! - `DeleteVpcEndpoints` sets the state to `deleted` and keeps the endpoint:
//!   `DescribeVpcEndpoints` still returns it by id, and only the
//!   `vpc-endpoint-state` filter hides it. Unknown ids are ignored, with an
//!   empty `Unsuccessful` list, where AWS reports each one.
//! - `DescribeVpcEndpoints` with an unknown id fails with
//!   `InvalidVpcEndpointId.NotFound`.
//! - States are sent in lower case (`available`, `deleted`). The `State` enum
//!   of `aws-sdk-ec2` 1.195 lists `Available`, `Deleted` and so on, so the SDK
//!   parses moto's values as `State::Unknown`. Code that reads endpoint states
//!   should compare `State::as_str()` case-insensitively, which works for
//!   either spelling, instead of matching enum variants.
//! - Owner account ids in responses and ARNs are `123456789012`.

mod fixtures;

pub use fixtures::Ec2Fixtures;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_ec2::config::{
    ConfigBag, Credentials, Intercept, RuntimeComponents, SharedCredentialsProvider,
};
use aws_sdk_ec2::error::BoxError;
use tokio::process::{Child, Command};

use crate::output::{LogBuffer, capture_lines};
use crate::{DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY, HarnessError, workspace};

/// Environment variable that names the `moto_server` executable to run.
pub const MOTO_SERVER_ENV: &str = "MOTO_SERVER";

/// Time allowed for moto to start responding to HTTP requests. Importing moto
/// takes seconds, and longer on a busy machine, so the limit is generous.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Attempts to start moto. The port is chosen before moto binds it, so another
/// process can take it in between, and a failed start is retried on a new port.
const START_ATTEMPTS: usize = 3;

/// moto logs one line per request, so only the latest lines are kept.
const MAX_LOG_LINES: usize = 5_000;

/// A running `moto_server`, killed when this value is dropped.
pub struct Moto {
    child: Child,
    endpoint_url: String,
    logs: Arc<LogBuffer>,
    http: reqwest::Client,
}

impl Moto {
    /// Starts `moto_server` on a free 127.0.0.1 port and waits until it
    /// responds to HTTP requests.
    ///
    /// The executable is the one named by `MOTO_SERVER`, else
    /// `<workspace>/.venv/bin/moto_server`, else `moto_server` on `PATH`.
    /// If none exists, the error says how to install moto.
    pub async fn start() -> Result<Moto, HarnessError> {
        let program = find_moto_server()?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a client without TLS settings always builds");

        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match start_once(&program, &http).await {
                Ok(moto) => return Ok(moto),
                Err(StartFailure::PortTaken(error)) => last_error = Some(error),
                Err(StartFailure::Fatal(error)) => return Err(error),
            }
        }
        Err(last_error.expect("START_ATTEMPTS is above zero"))
    }

    /// Base URL of the server, such as `http://127.0.0.1:40123`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    /// Returns the latest output lines of the server, including one line per
    /// request it served.
    pub fn logs(&self) -> Vec<String> {
        self.logs.snapshot()
    }

    /// Deletes all state in every region through moto's `/moto-api/reset`.
    pub async fn reset(&self) -> Result<(), HarnessError> {
        let url = format!("{}/moto-api/reset", self.endpoint_url);
        let response = self.http.post(&url).send().await;
        match response {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(HarnessError::Aws {
                operation: "moto reset",
                message: format!("{url} returned HTTP {}", r.status()),
            }),
            Err(e) => Err(HarnessError::Aws {
                operation: "moto reset",
                message: format!("{url}: {e}"),
            }),
        }
    }

    /// Environment entries that point a function at this server in `region`,
    /// for [`crate::FunctionProcess::spawn`].
    pub fn function_env(&self, region: &str) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".to_owned(), self.endpoint_url.clone()),
            ("AWS_REGION".to_owned(), region.to_owned()),
        ]
    }

    /// Builds an SDK configuration for this server with dummy credentials.
    ///
    /// It reads nothing from the environment or from `~/.aws`, so it cannot
    /// pick up real credentials or endpoints.
    pub fn sdk_config(&self, region: &str) -> SdkConfig {
        let credentials = Credentials::new(
            DUMMY_ACCESS_KEY_ID,
            DUMMY_SECRET_ACCESS_KEY,
            None,
            None,
            "harness",
        );
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.endpoint_url)
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build()
    }

    /// EC2 client for `region` that sends requests to this server.
    pub fn ec2_client(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk_config(region))
    }

    /// Another account of this server, for fixtures owned by that account.
    pub fn account(&self, account_id: &str) -> MotoAccount<'_> {
        MotoAccount {
            moto: self,
            account_id: account_id.to_owned(),
        }
    }

    /// Secrets Manager client for `region` that sends requests to this server.
    pub fn secrets_client(&self, region: &str) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config(region))
    }
}

/// One account of a running moto server other than its default one. moto keeps each account's
/// resources apart, and takes the account of a request from its `x-moto-account-id` header.
/// The functions under test reach other accounts through STS instead, as they do in AWS.
pub struct MotoAccount<'a> {
    moto: &'a Moto,
    account_id: String,
}

impl MotoAccount<'_> {
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// EC2 client for `region` whose requests act in this account.
    pub fn ec2_client(&self, region: &str) -> aws_sdk_ec2::Client {
        let config = aws_sdk_ec2::config::Builder::from(&self.moto.sdk_config(region))
            .interceptor(AccountHeader(self.account_id.clone()))
            .build();
        aws_sdk_ec2::Client::from_conf(config)
    }
}

/// Adds moto's account header to every request.
#[derive(Debug)]
struct AccountHeader(String);

impl Intercept for AccountHeader {
    fn name(&self) -> &'static str {
        "MotoAccountHeader"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // `kill_on_drop` also covers this, and the explicit kill makes the
        // intent visible. An error means the server already exited.
        let _ = self.child.start_kill();
    }
}

/// Finds the `moto_server` executable, in the order documented on
/// [`Moto::start`]. A `MOTO_SERVER` value that is not an executable file is
/// an error.
pub fn find_moto_server() -> Result<PathBuf, HarnessError> {
    let mut tried = Vec::new();

    if let Some(path) = std::env::var_os(MOTO_SERVER_ENV) {
        let path = PathBuf::from(path);
        // An explicit choice that does not work is an error, not a reason
        // to run some other moto.
        if is_executable(&path) {
            return Ok(path);
        }
        return Err(HarnessError::MotoNotFound { tried: vec![path] });
    }

    if let Ok(root) = workspace::workspace_root() {
        let venv = root.join(".venv/bin/moto_server");
        if is_executable(&venv) {
            return Ok(venv);
        }
        tried.push(venv);
    }

    if let Some(path_var) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path_var) {
            let candidate = dir.join("moto_server");
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
        tried.push(PathBuf::from("moto_server on PATH"));
    }

    Err(HarnessError::MotoNotFound { tried })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

enum StartFailure {
    /// moto exited because its port was taken, so a retry may succeed.
    PortTaken(HarnessError),
    Fatal(HarnessError),
}

async fn start_once(program: &Path, http: &reqwest::Client) -> Result<Moto, StartFailure> {
    let port = free_port().map_err(|e| StartFailure::Fatal(HarnessError::Bind(e)))?;
    let endpoint_url = format!("http://127.0.0.1:{port}");

    let mut command = Command::new(program);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .env("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_ACCESS_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", &endpoint_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|source| {
        StartFailure::Fatal(HarnessError::Spawn {
            program: program.to_path_buf(),
            source,
        })
    })?;

    let logs = LogBuffer::new(MAX_LOG_LINES);
    if let Some(out) = child.stdout.take() {
        capture_lines(out, logs.clone());
    }
    if let Some(err) = child.stderr.take() {
        capture_lines(err, logs.clone());
    }

    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // Give the readers a moment to collect the last lines, which hold
            // the reason for the exit.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let lines = logs.snapshot();
            let error = HarnessError::MotoStart {
                program: program.to_path_buf(),
                reason: format!("exited with {status}"),
                logs: lines.clone(),
            };
            let port_taken = lines.iter().any(|l| l.contains("Address already in use"));
            return Err(if port_taken {
                StartFailure::PortTaken(error)
            } else {
                StartFailure::Fatal(error)
            });
        }

        // Another test's moto may answer on this port while this one fails to bind it, so the
        // server counts as started only once its own output says it is listening.
        let listening = format!("Running on {endpoint_url}");
        let own_server = logs.snapshot().iter().any(|l| l.contains(&listening));
        let probe = http.get(format!("{endpoint_url}/moto-api/")).send().await;
        if own_server && probe.is_ok_and(|r| r.status().is_success()) {
            return Ok(Moto {
                child,
                endpoint_url,
                logs,
                http: http.clone(),
            });
        }

        if started.elapsed() > STARTUP_TIMEOUT {
            return Err(StartFailure::Fatal(HarnessError::MotoStart {
                program: program.to_path_buf(),
                reason: format!("no HTTP response from {endpoint_url} within {STARTUP_TIMEOUT:?}"),
                logs: logs.snapshot(),
            }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks the OS for a free loopback port and releases it for moto to bind.
fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
