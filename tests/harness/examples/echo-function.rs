//! Minimal Lambda function built on `lambda_runtime` for the harness's own
//! tests. It echoes each event back, and some event fields and environment
//! variables make it fail in the ways the harness must report.
//!
//! Event fields, checked in this order:
//! - `"exit": N` exits the process with code N during the invocation.
//! - `"sleep_ms": N` sleeps N milliseconds before responding.
//! - `"print": "text"` writes the text to stdout and to stderr.
//! - `"fail": "message"` returns an `EchoError` function error.
//! - `"response_bytes": N` responds with a string of N bytes.
//!
//! Environment variables read at start-up:
//! - `ECHO_INIT_ERROR=message` posts the message to `/runtime/init/error` and
//!   exits with code 1, as a function does when its configuration is invalid.
//! - `ECHO_EXIT_AT_START=N` prints a line to stderr and exits with code N
//!   without contacting the Runtime API.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn, tracing};
use serde_json::{Value, json};

/// Environment variables whose values the echo response includes.
const REPORTED_ENV: [&str; 9] = [
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_ENDPOINT_URL",
];

#[derive(Debug)]
struct EchoError(String);

impl From<EchoError> for Diagnostic {
    fn from(error: EchoError) -> Diagnostic {
        Diagnostic {
            error_type: "EchoError".to_owned(),
            error_message: error.0,
        }
    }
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, EchoError> {
    let (payload, context) = event.into_parts();
    tracing::info!(request_id = %context.request_id, "handling event");

    if let Some(code) = payload.get("exit").and_then(Value::as_i64) {
        std::process::exit(code as i32);
    }
    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if let Some(text) = payload.get("print").and_then(Value::as_str) {
        println!("stdout: {text}");
        eprintln!("stderr: {text}");
    }
    if let Some(message) = payload.get("fail").and_then(Value::as_str) {
        return Err(EchoError(message.to_owned()));
    }
    if let Some(size) = payload.get("response_bytes").and_then(Value::as_u64) {
        return Ok(Value::String("x".repeat(size as usize)));
    }

    let env: serde_json::Map<String, Value> = REPORTED_ENV
        .iter()
        .filter_map(|key| {
            let value = std::env::var(key).ok()?;
            Some((key.to_string(), Value::String(value)))
        })
        .collect();
    Ok(json!({
        "event": payload,
        "request_id": context.request_id,
        "function_arn": context.invoked_function_arn,
        "deadline_ms": context.deadline,
        "trace_id": context.xray_trace_id,
        "env": env,
    }))
}

/// Posts an init error the way a Lambda runtime reports a failed start-up.
async fn report_init_error(message: &str) {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API is set");
    let body = json!({ "errorType": "EchoInitError", "errorMessage": message });
    let result = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a plain HTTP client builds")
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("lambda-runtime-function-error-type", "EchoInitError")
        .json(&body)
        .send()
        .await;
    if let Err(error) = result {
        eprintln!("failed to report init error: {error}");
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    if let Ok(code) = std::env::var("ECHO_EXIT_AT_START") {
        eprintln!("exiting at start with code {code}");
        std::process::exit(code.parse().unwrap_or(2));
    }
    if let Ok(message) = std::env::var("ECHO_INIT_ERROR") {
        eprintln!("init failed: {message}");
        report_init_error(&message).await;
        std::process::exit(1);
    }

    tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(handle)).await
}
