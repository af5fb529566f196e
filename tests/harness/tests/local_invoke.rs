//! End-to-end tests of the `local-invoke` binary with the `echo-function`
//! example.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harness::workspace;
use serde_json::Value;

/// Directory for this test's event files, unique per test and process.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "harness-local-invoke-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_event(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn local_invoke(args: &[&str]) -> Output {
    let echo = workspace::built_binary("echo-function").unwrap_or_else(|e| panic!("{e}"));
    // local-invoke makes no AWS calls itself, and the dummy settings make
    // sure nothing it starts could reach AWS either.
    Command::new(env!("CARGO_BIN_EXE_local-invoke"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(
            "AWS_ENDPOINT_URL",
            harness::runtime::UNREACHABLE_ENDPOINT_URL,
        )
        .arg("--binary")
        .arg(echo)
        .args(args)
        .output()
        .unwrap()
}

/// Splits stdout into the pretty-printed JSON documents it contains.
fn documents(stdout: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn invokes_each_event() {
    let dir = scratch_dir("each");
    let first = write_event(&dir, "first.json", r#"{"n": 1}"#);
    let second = write_event(&dir, "second.json", r#"{"n": 2}"#);

    let output = local_invoke(&[
        "--env",
        "AWS_REGION=eu-west-1",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr:\n{stderr}");

    let results = documents(&output.stdout);
    assert_eq!(
        results.len(),
        2,
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(results[0]["event"]["n"], 1);
    assert_eq!(results[1]["event"]["n"], 2);
    assert_eq!(results[0]["env"]["AWS_REGION"], "eu-west-1");
    assert!(stderr.contains("invoking"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn function_error_fails() {
    let dir = scratch_dir("error");
    let event = write_event(&dir, "fail.json", r#"{"fail": "boom"}"#);

    let output = local_invoke(&[event.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let results = documents(&output.stdout);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["errorType"], "EchoError");
    assert_eq!(results[0]["errorMessage"], "boom");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn allowed_error_succeeds() {
    let dir = scratch_dir("allowed");
    let event = write_event(&dir, "fail.json", r#"{"fail": "boom"}"#);

    let output = local_invoke(&["--allow-errors", event.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr:\n{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn process_exit_fails() {
    let dir = scratch_dir("exit");
    let event = write_event(&dir, "exit.json", r#"{"exit": 7}"#);

    let output = local_invoke(&[event.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("exited"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_event_file_fails() {
    let output = local_invoke(&["/nonexistent/event.json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("/nonexistent/event.json"), "{stderr}");
}

#[test]
fn invalid_arguments_exit_2() {
    let output = local_invoke(&["--timeout", "soon", "e.json"]);
    assert_eq!(output.status.code(), Some(2));
}
