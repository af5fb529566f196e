//! `local-invoke`: runs a Lambda function binary once behind the local
//! Runtime API emulator and invokes it with each event file in order.
//!
//! Each result goes to stdout as pretty-printed JSON: the response, or
//! `{"errorType": ..., "errorMessage": ...}` for a function error. Progress
//! and the function's own output go to stderr.
//!
//! Exit codes: 0 when every invocation returned a response (or a function
//! error with `--allow-errors`), 1 when an invocation failed, 2 for invalid
//! arguments.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use harness::{FunctionProcess, Invocation, events};
use serde_json::{Value, json};

const USAGE: &str = "\
Usage: local-invoke --binary PATH [--env KEY=VALUE]... [--timeout SECONDS] [--allow-errors] EVENT_FILE...

Runs the Lambda function binary once and invokes it with each event file in order.

Options:
  --binary PATH       function binary to run (required)
  --env KEY=VALUE     environment variable for the function; repeatable. Without
                      AWS_ENDPOINT_URL, AWS calls go to http://127.0.0.1:9 and fail.
  --timeout SECONDS   time limit of each invocation, including start-up for the
                      first one (default: 30)
  --allow-errors      exit 0 even if the function returns an error
  -h, --help          print this help";

struct Args {
    binary: PathBuf,
    env: Vec<(String, String)>,
    timeout: Duration,
    allow_errors: bool,
    event_files: Vec<PathBuf>,
}

enum ParseOutcome {
    Run(Args),
    Help,
}

fn parse_args(raw: impl IntoIterator<Item = String>) -> Result<ParseOutcome, String> {
    let mut binary = None;
    let mut env = Vec::new();
    let mut timeout = Duration::from_secs(30);
    let mut allow_errors = false;
    let mut event_files = Vec::new();

    let mut raw = raw.into_iter();
    while let Some(arg) = raw.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline_value
                .clone()
                .or_else(|| raw.next())
                .ok_or_else(|| format!("{name} requires a value"))
        };

        match flag.as_str() {
            "-h" | "--help" => return Ok(ParseOutcome::Help),
            "--binary" => binary = Some(PathBuf::from(value("--binary")?)),
            "--env" => {
                let entry = value("--env")?;
                let (key, val) = entry
                    .split_once('=')
                    .ok_or_else(|| format!("--env {entry:?} is invalid: expected KEY=VALUE"))?;
                if key.is_empty() {
                    return Err(format!("--env {entry:?} is invalid: the key is empty"));
                }
                env.push((key.to_owned(), val.to_owned()));
            }
            "--timeout" => {
                let text = value("--timeout")?;
                let seconds: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| {
                        format!(
                            "--timeout {text:?} is invalid: expected a positive number of seconds"
                        )
                    })?;
                timeout = Duration::from_secs_f64(seconds);
            }
            "--allow-errors" => allow_errors = true,
            other if other.starts_with('-') && other.len() > 1 => {
                return Err(format!("unknown option {other}"));
            }
            _ => event_files.push(PathBuf::from(arg)),
        }
    }

    let binary = binary.ok_or("--binary is required")?;
    if event_files.is_empty() {
        return Err("at least one EVENT_FILE is required".to_owned());
    }
    Ok(ParseOutcome::Run(Args {
        binary,
        env,
        timeout,
        allow_errors,
        event_files,
    }))
}

/// Prints the function output lines captured since the previous call.
fn print_new_logs(process: &FunctionProcess, printed: &mut usize) {
    let logs = process.logs();
    for line in logs.iter().skip(*printed) {
        eprintln!("  | {line}");
    }
    *printed = logs.len();
}

fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("a serde_json::Value always serializes");
    println!("{text}");
}

async fn run(args: Args) -> ExitCode {
    let mut events = Vec::with_capacity(args.event_files.len());
    for path in &args.event_files {
        match events::load_event_file(path) {
            Ok(event) => events.push((path, event)),
            Err(error) => {
                eprintln!("local-invoke: {error}");
                return ExitCode::FAILURE;
            }
        }
    }

    let process = match FunctionProcess::spawn(&args.binary, &args.env).await {
        Ok(process) => process,
        Err(error) => {
            eprintln!("local-invoke: {error}");
            return ExitCode::FAILURE;
        }
    };

    let mut printed_logs = 0;
    let mut unexpected_errors = 0;
    for (path, event) in &events {
        eprintln!(
            "local-invoke: invoking {} with {}",
            args.binary.display(),
            path.display()
        );
        let result = process.invoke(event, args.timeout).await;
        print_new_logs(&process, &mut printed_logs);

        match result {
            Ok(Invocation::Ok(response)) => print_json(&response),
            Ok(Invocation::FunctionError {
                error_type,
                error_message,
            }) => {
                print_json(&json!({ "errorType": error_type, "errorMessage": error_message }));
                if !args.allow_errors {
                    eprintln!(
                        "local-invoke: {} returned function error {error_type}",
                        path.display()
                    );
                    unexpected_errors += 1;
                }
            }
            Err(error) => {
                // The captured output was printed above, so only the first
                // line of the message is repeated here.
                let message = error.to_string();
                let summary = message.lines().next().unwrap_or_default();
                eprintln!(
                    "local-invoke: invocation with {} failed: {summary}",
                    path.display()
                );
                return ExitCode::FAILURE;
            }
        }
    }

    if let Some(init) = process.init_duration() {
        eprintln!(
            "local-invoke: first /next request {} ms after start",
            init.as_millis()
        );
    }
    if unexpected_errors > 0 {
        eprintln!(
            "local-invoke: {unexpected_errors} invocation(s) returned an error; pass --allow-errors if expected"
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[tokio::main]
async fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(ParseOutcome::Run(args)) => run(args).await,
        Ok(ParseOutcome::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("local-invoke: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ParseOutcome, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    fn parse_run(args: &[&str]) -> Args {
        match parse(args) {
            Ok(ParseOutcome::Run(args)) => args,
            Ok(ParseOutcome::Help) => panic!("parsed as --help"),
            Err(message) => panic!("parse failed: {message}"),
        }
    }

    #[test]
    fn parse_full_command() {
        let args = parse_run(&[
            "--binary",
            "target/debug/f",
            "--env",
            "A=1",
            "--env=B=x=y",
            "--timeout",
            "2.5",
            "--allow-errors",
            "one.json",
            "two.json",
        ]);
        assert_eq!(args.binary, PathBuf::from("target/debug/f"));
        assert_eq!(
            args.env,
            vec![
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "x=y".to_owned())
            ]
        );
        assert_eq!(args.timeout, Duration::from_millis(2500));
        assert!(args.allow_errors);
        assert_eq!(
            args.event_files,
            vec![PathBuf::from("one.json"), PathBuf::from("two.json")]
        );
    }

    #[test]
    fn parse_defaults() {
        let args = parse_run(&["--binary=f", "e.json"]);
        assert_eq!(args.timeout, Duration::from_secs(30));
        assert!(!args.allow_errors);
        assert!(args.env.is_empty());
    }

    #[test]
    fn parse_rejects_bad_input() {
        let cases: [(&[&str], &str); 6] = [
            (&["e.json"], "--binary is required"),
            (&["--binary", "f"], "EVENT_FILE"),
            (
                &["--binary", "f", "--env", "NOVALUE", "e.json"],
                "KEY=VALUE",
            ),
            (&["--binary", "f", "--timeout", "0", "e.json"], "positive"),
            (
                &["--binary", "f", "--bogus", "e.json"],
                "unknown option --bogus",
            ),
            (&["--binary"], "--binary requires a value"),
        ];
        for (args, expected) in cases {
            let message = match parse(args) {
                Err(message) => message,
                Ok(_) => panic!("{args:?} parsed without error"),
            };
            assert!(message.contains(expected), "{args:?}: {message}");
        }
    }

    #[test]
    fn parse_help() {
        assert!(matches!(parse(&["--help"]), Ok(ParseOutcome::Help)));
    }
}
