//! Runtime API emulator tests against the `echo-function` example, a real
//! `lambda_runtime` 1.x function. `cargo test -p harness` builds the example
//! before running these tests.

use std::path::PathBuf;
use std::time::Duration;

use harness::runtime::UNREACHABLE_ENDPOINT_URL;
use harness::{FunctionProcess, HarnessError, Invocation, workspace};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(30);

fn echo_binary() -> PathBuf {
    workspace::built_binary("echo-function").unwrap_or_else(|e| {
        panic!("{e}\n`cargo test -p harness` builds it, or run `cargo build -p harness --examples`")
    })
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn spawn_echo(extra_env: &[(&str, &str)]) -> FunctionProcess {
    FunctionProcess::spawn(&echo_binary(), &env(extra_env))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn invoke_ok(process: &FunctionProcess, event: Value) -> Value {
    match process.invoke(&event, TIMEOUT).await {
        Ok(Invocation::Ok(response)) => response,
        Ok(other) => panic!("expected a response, got {other:?}"),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn echo_round_trip() {
    let process = spawn_echo(&[]).await;
    let event = json!({ "hello": "world", "nested": [1, 2, { "x": null }] });
    let response = invoke_ok(&process, event.clone()).await;

    assert_eq!(response["event"], event);
    assert_eq!(
        response["function_arn"],
        "arn:aws:lambda:us-east-1:111122223333:function:echo-function"
    );
    let request_id = response["request_id"].as_str().unwrap();
    assert_eq!(request_id.len(), 36, "{request_id}");
    assert!(
        response["trace_id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-")
    );

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let deadline_ms = response["deadline_ms"].as_u64().unwrap();
    assert!(
        deadline_ms > now_ms,
        "deadline {deadline_ms} is not after {now_ms}"
    );
    assert!(deadline_ms <= now_ms + TIMEOUT.as_millis() as u64);
}

#[tokio::test]
async fn lambda_environment() {
    let process = spawn_echo(&[]).await;
    let response = invoke_ok(&process, json!({})).await;
    let env = &response["env"];

    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "echo-function");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "testing");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "testing");
    assert_eq!(env["AWS_EC2_METADATA_DISABLED"], "true");
    assert_eq!(env["AWS_ENDPOINT_URL"], UNREACHABLE_ENDPOINT_URL);
}

#[tokio::test]
async fn env_overrides_apply() {
    let process = spawn_echo(&[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_LAMBDA_FUNCTION_NAME", "linker"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
    ])
    .await;
    let response = invoke_ok(&process, json!({})).await;

    assert_eq!(response["env"]["AWS_REGION"], "eu-west-1");
    assert_eq!(response["env"]["AWS_ENDPOINT_URL"], "http://127.0.0.1:5000");
    assert_eq!(
        response["function_arn"],
        "arn:aws:lambda:eu-west-1:111122223333:function:linker"
    );
    assert_eq!(process.function_arn(), response["function_arn"]);
}

#[tokio::test]
async fn sequential_invocations() {
    let process = spawn_echo(&[]).await;
    let mut request_ids = Vec::new();
    for n in 0..3 {
        let response = invoke_ok(&process, json!({ "n": n })).await;
        assert_eq!(response["event"]["n"], n);
        request_ids.push(response["request_id"].as_str().unwrap().to_owned());
    }
    request_ids.sort();
    request_ids.dedup();
    assert_eq!(request_ids.len(), 3, "request ids repeat: {request_ids:?}");
}

#[tokio::test]
async fn function_error_reported() {
    let process = spawn_echo(&[]).await;
    let result = process.invoke(&json!({ "fail": "boom" }), TIMEOUT).await;
    let invocation = result.unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(
        invocation,
        Invocation::FunctionError {
            error_type: "EchoError".to_owned(),
            error_message: "boom".to_owned(),
        }
    );
    assert!(invocation.is_function_error());
    assert!(invocation.response().is_none());

    // A function error leaves the process running for the next event.
    let response = invoke_ok(&process, json!({ "after": "error" })).await;
    assert_eq!(response["event"]["after"], "error");
}

#[tokio::test]
async fn oversized_response_rejected() {
    let process = spawn_echo(&[]).await;
    let event = json!({ "response_bytes": 7_000_000 });
    let invocation = process
        .invoke(&event, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    match invocation {
        Invocation::FunctionError { error_type, .. } => {
            assert_eq!(error_type, "Function.ResponseSizeTooLarge");
        }
        Invocation::Ok(_) => panic!("a 7 MB response was accepted"),
    }
}

#[tokio::test]
async fn output_lines_captured() {
    let process = spawn_echo(&[]).await;
    invoke_ok(&process, json!({ "print": "marker-42" })).await;

    let logs = process.logs();
    assert!(logs.iter().any(|l| l == "stdout: marker-42"), "{logs:#?}");
    assert!(logs.iter().any(|l| l == "stderr: marker-42"), "{logs:#?}");

    // AWS_LAMBDA_LOG_FORMAT=JSON makes lambda_runtime's subscriber write JSON.
    let json_line = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "handling event");
    assert!(
        json_line.is_some(),
        "no JSON log line for the event: {logs:#?}"
    );
}

#[tokio::test]
async fn timeout_kills_process() {
    let process = spawn_echo(&[]).await;
    let timeout = Duration::from_millis(1500);
    // The first invocation also waits for start-up, so a warm call comes first.
    invoke_ok(&process, json!({})).await;

    let error = process
        .invoke(&json!({ "sleep_ms": 60_000 }), timeout)
        .await
        .unwrap_err();
    assert!(
        matches!(error, HarnessError::Timeout { timeout: t, .. } if t == timeout),
        "{error}"
    );
    assert!(
        process.exit_status().is_some(),
        "process still running after timeout"
    );

    let error = process.invoke(&json!({}), TIMEOUT).await.unwrap_err();
    assert!(
        matches!(error, HarnessError::ProcessExited { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn exit_during_invocation() {
    let process = spawn_echo(&[]).await;
    let error = process
        .invoke(&json!({ "exit": 3 }), TIMEOUT)
        .await
        .unwrap_err();

    match &error {
        HarnessError::ProcessExited { status, .. } => {
            assert!(status.contains('3'), "unexpected status {status}");
        }
        other => panic!("expected ProcessExited, got {other}"),
    }
}

#[tokio::test]
async fn exit_before_polling() {
    let process = spawn_echo(&[("ECHO_EXIT_AT_START", "4")]).await;
    let error = process.invoke(&json!({}), TIMEOUT).await.unwrap_err();

    match &error {
        HarnessError::ProcessExited { status, logs } => {
            assert!(status.contains('4'), "unexpected status {status}");
            assert!(
                logs.iter()
                    .any(|l| l.contains("exiting at start with code 4")),
                "{logs:#?}"
            );
        }
        other => panic!("expected ProcessExited, got {other}"),
    }
    assert!(error.to_string().contains("exiting at start"), "{error}");
    assert!(process.init_duration().is_none());
}

#[tokio::test]
async fn init_error_reported() {
    let process = spawn_echo(&[("ECHO_INIT_ERROR", "missing ATLAS_SECRET_ARN")]).await;
    let error = process.invoke(&json!({}), TIMEOUT).await.unwrap_err();

    match &error {
        HarnessError::InitFailed {
            error_type,
            error_message,
            logs,
        } => {
            assert_eq!(error_type, "EchoInitError");
            assert_eq!(error_message, "missing ATLAS_SECRET_ARN");
            assert!(logs.iter().any(|l| l.contains("init failed")), "{logs:#?}");
        }
        other => panic!("expected InitFailed, got {other}"),
    }

    let init_error = process.init_error().expect("init error recorded");
    assert_eq!(init_error.error_type, "EchoInitError");

    // Later invocations fail the same way.
    let error = process.invoke(&json!({}), TIMEOUT).await.unwrap_err();
    assert!(matches!(error, HarnessError::InitFailed { .. }), "{error}");
}

#[tokio::test]
async fn ready_time_recorded() {
    let process = spawn_echo(&[]).await;
    let ready = process
        .wait_ready(TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(ready > Duration::ZERO);
    assert!(ready < TIMEOUT);
    assert_eq!(process.init_duration(), Some(ready));

    // Invoking does not move the recorded time.
    invoke_ok(&process, json!({})).await;
    assert_eq!(process.init_duration(), Some(ready));
}

#[tokio::test]
async fn wait_ready_reports_exit() {
    let process = spawn_echo(&[("ECHO_EXIT_AT_START", "5")]).await;
    let error = process.wait_ready(TIMEOUT).await.unwrap_err();
    assert!(
        matches!(error, HarnessError::ProcessExited { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn missing_binary_rejected() {
    let result = FunctionProcess::spawn(&PathBuf::from("/nonexistent/bootstrap"), &[]).await;
    let error = result.err().expect("spawning a missing binary succeeded");
    assert!(matches!(error, HarnessError::Spawn { .. }), "{error}");
    assert!(
        error.to_string().contains("/nonexistent/bootstrap"),
        "{error}"
    );
}

#[tokio::test]
async fn drop_kills_process() {
    let process = spawn_echo(&[]).await;
    process
        .wait_ready(TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = process.pid().expect("running process has a pid");
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_dir.exists());

    drop(process);

    // The supervisor task kills and reaps the child, so its /proc entry goes.
    for _ in 0..100 {
        if !proc_dir.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("function process {pid} still exists 5 s after drop");
}

#[tokio::test]
async fn unknown_route_rejected() {
    let process = spawn_echo(&[]).await;
    let base = format!("http://{}", process.runtime_api_addr());
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let response = client
        .post(format!(
            "{base}/2018-06-01/runtime/invocation/no-such-id/response"
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);

    let response = client
        .get(format!("{base}/2018-06-01/runtime/restore/next"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
}
