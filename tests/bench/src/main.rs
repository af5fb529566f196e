//! Benchmarks of the linker's functions against a hello-world Lambda function.
//!
//! Every measurement runs against moto and the Atlas simulator on 127.0.0.1. The benchmark
//! measures init time over fresh processes, the peak memory of a process that handles a create
//! event, the network requests of each kind of event, a burst of creates through one process,
//! and the package sizes. It prints every figure with its target. The exit status is non-zero
//! only when a measurement fails to run. A missed target is reported, not an error.
//!
//! `make bench` builds the release binaries and runs this. `make bench-smoke` runs it on debug
//! binaries with `--smoke`.

mod burst;
mod init;
mod package;
mod per_event;
mod proxy;
mod report;
mod setup;
mod traffic;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use report::{Row, Status, print_section};
use setup::{Binaries, Setup};

const USAGE: &str = "usage: bench [--smoke] [--init-runs N] [--burst N] [--packages DIR]

  --smoke           quick run for CI: 2 processes per binary for init time, a burst of 20
  --init-runs N     fresh processes started per binary for init time (default 30)
  --burst N         create events in the burst, one new endpoint each (default 1000)
  --packages DIR    directory with <function>/bootstrap.zip from `make package`
                    (default: $CARGO_TARGET_DIR/lambda, else target/lambda)";

struct Options {
    smoke: bool,
    init_runs: usize,
    burst: usize,
    packages: Option<PathBuf>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        smoke: false,
        init_runs: 30,
        burst: 1000,
        packages: None,
    };
    let (mut init_runs, mut burst) = (None, None);
    while let Some(arg) = args.next() {
        let mut count = |name: &str| -> Result<usize, String> {
            let value = args.next().ok_or(format!("{name} needs a number"))?;
            match value.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{name} must be a positive integer, got {value:?}")),
            }
        };
        match arg.as_str() {
            "--smoke" => options.smoke = true,
            "--init-runs" => init_runs = Some(count("--init-runs")?),
            "--burst" => burst = Some(count("--burst")?),
            "--packages" => {
                let dir = args.next().ok_or("--packages needs a directory")?;
                options.packages = Some(PathBuf::from(dir));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.smoke {
        options.init_runs = 2;
        options.burst = 20;
    }
    options.init_runs = init_runs.unwrap_or(options.init_runs);
    options.burst = burst.unwrap_or(options.burst);
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("bench: {message}");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: a measurement failed to run: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let binaries = Binaries::find()?;
    print_header(options, &binaries);

    let setup = Setup::start(binaries).await?;
    let mut all_rows: Vec<Row> = Vec::new();

    let samples = init::measure(&setup, options.init_runs).await?;
    let rows = init::rows(&samples);
    print_section(
        "Init time: spawn to first /next request",
        Some(
            "A fresh process each time, the series taking turns. The last two start \
             linker-events with SSL_CERT_FILE set to the system CA bundle or to one certificate.",
        ),
        &rows,
    );
    all_rows.extend(rows);

    let per_event = per_event::measure(&setup).await?;
    print_section(
        "Peak resident memory (VmHWM)",
        Some("One linker-events process after a cold create, end to end against the sandbox."),
        &per_event.memory,
    );
    print_section(
        "Network requests per event",
        Some(
            "WAIT_BUDGET_SECONDS=0, so re-reads of a converging link do not count. \
             AWS requests come from the proxy in front of moto, Atlas ones from the simulator.",
        ),
        &per_event.requests,
    );
    all_rows.extend(per_event.memory);
    all_rows.extend(per_event.requests);

    let burst = burst::measure(&setup, options.burst).await?;
    let note = format!(
        "{} create events through one process, service-account credentials, \
         WAIT_BUDGET_SECONDS=0; creating the endpoints in moto took {:.1} s beforehand.",
        options.burst,
        burst.setup_time.as_secs_f64()
    );
    print_section("Burst", Some(&note), &burst.rows);
    all_rows.extend(burst.rows);

    let zips = package::zip_rows(options.packages.as_deref())?;
    let binaries = package::binary_rows(&setup.binaries)?;
    print_section(
        "Package sizes",
        Some("Zips from `make package` (arm64); binaries of this run (host) for context."),
        &zips.iter().chain(&binaries).cloned().collect::<Vec<_>>(),
    );
    all_rows.extend(zips);

    print_summary(&all_rows);
    println!("load average at end: {}", load_average());
    println!("Bench ran in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

fn print_header(options: &Options, binaries: &Binaries) {
    let profile = binaries
        .events
        .parent()
        .and_then(|dir| dir.file_name())
        .map_or_else(
            || "unknown".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let mode = if options.smoke {
        "smoke (checks that every measurement runs; the figures are not benchmarks)"
    } else {
        "full"
    };
    println!("bench: {mode}");
    println!("binaries: {profile} profile, {}", binaries.events.display());
    println!("machine: {cores} cores, MemTotal {memory}");
    println!("load average at start: {}", load_average());
}

/// Returns the 1, 5 and 15 minute load averages from `/proc/loadavg`. Other work on the machine
/// during a run shows here, and it makes the init times spread.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn print_summary(rows: &[Row]) {
    let count = |status| rows.iter().filter(|r| r.status == status).count();
    println!();
    println!(
        "Targets: {} met, {} missed, {} not measured.",
        count(Status::Met),
        count(Status::Missed),
        count(Status::NotMeasured)
    );
    for row in rows.iter().filter(|r| r.status == Status::Missed) {
        println!(
            "  missed: {} = {} (target {})",
            row.figure, row.value, row.target
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn defaults_full_run() {
        let options = parse(&[]).unwrap();
        assert!(!options.smoke);
        assert_eq!(options.init_runs, 30);
        assert_eq!(options.burst, 1000);
    }

    #[test]
    fn smoke_shrinks_counts() {
        let options = parse(&["--smoke"]).unwrap();
        assert_eq!(options.init_runs, 2);
        assert_eq!(options.burst, 20);
    }

    #[test]
    fn explicit_counts_win() {
        let options = parse(&["--burst", "5", "--smoke", "--init-runs", "3"]).unwrap();
        assert_eq!(options.init_runs, 3);
        assert_eq!(options.burst, 5);
    }

    #[test]
    fn invalid_counts_rejected() {
        assert!(parse(&["--burst", "0"]).is_err());
        assert!(parse(&["--burst"]).is_err());
        assert!(parse(&["--init-runs", "x"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }
}
