//! Init time: from spawning a fresh process to its first `/next` request to the Runtime API.

use std::path::Path;
use std::time::{Duration, Instant};

use harness::FunctionProcess;

use crate::report::{Row, Spread, millis};
use crate::setup::{Credentials, Setup, set};

/// Time allowed for one process to reach `/next`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for a killed process to disappear from `/proc`.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// The init target: at most this many times the hello-world function's median.
pub const MAX_FLOOR_RATIO: f64 = 1.3;

/// Init times of one binary in one environment.
pub struct InitSample {
    pub name: &'static str,
    /// Whether the init target applies. The floor and the diagnostic series have none.
    pub has_target: bool,
    pub durations: Vec<Duration>,
}

/// One binary and environment to start.
struct Series<'a> {
    name: &'static str,
    has_target: bool,
    binary: &'a Path,
    env: Vec<(String, String)>,
}

/// A self-signed CA certificate whose private key was discarded when it was made. Pointing
/// `SSL_CERT_FILE` at it makes the SDK's TLS set-up load exactly one certificate.
const ONE_CA_CERTIFICATE: &str = include_str!("one-ca.pem");

/// Usual paths of the system CA bundle (Debian and Ubuntu, Amazon Linux and Fedora, Alpine).
const CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Starts `runs` fresh processes of each series and records each init time.
///
/// The series are hello-lambda, linker-events and linker-reconcile, and two diagnostic series of
/// linker-events that split its init time. With `SSL_CERT_FILE` set, `rustls-native-certs` 0.8
/// reads that one file and no certificate directory. So the series with the system CA bundle
/// leaves out the certificate directory, and the series with one certificate leaves out nearly
/// all certificate parsing.
///
/// The series take turns, so that load from other work on the machine spreads over all of them
/// alike. One unrecorded start of each series comes first, so that every recorded start finds
/// the executable in the page cache. Each process is killed, and gone, before the next starts.
pub async fn measure(setup: &Setup, runs: usize) -> Result<Vec<InitSample>, String> {
    let env = setup.env(Credentials::ServiceAccount);
    let scratch = std::env::temp_dir().join(format!("bench-init-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("failed to create {}: {e}", scratch.display()))?;
    let one_certificate = scratch.join("one-ca.pem");
    std::fs::write(&one_certificate, ONE_CA_CERTIFICATE)
        .map_err(|e| format!("failed to write {}: {e}", one_certificate.display()))?;

    let mut series = vec![
        Series {
            name: "hello-lambda",
            has_target: false,
            binary: &setup.binaries.hello,
            env: env.clone(),
        },
        Series {
            name: "linker-events",
            has_target: true,
            binary: &setup.binaries.events,
            env: env.clone(),
        },
        Series {
            name: "linker-reconcile",
            has_target: true,
            binary: &setup.binaries.reconcile,
            env: env.clone(),
        },
    ];
    if let Some(bundle) = CA_BUNDLES.iter().find(|path| Path::new(path).is_file()) {
        series.push(Series {
            name: "linker-events, CA bundle file only",
            has_target: false,
            binary: &setup.binaries.events,
            env: with_certificate_file(&env, bundle),
        });
    }
    series.push(Series {
        name: "linker-events, one CA certificate",
        has_target: false,
        binary: &setup.binaries.events,
        env: with_certificate_file(&env, &one_certificate.to_string_lossy()),
    });

    let result = run_series(&series, runs).await;
    // Leftover files in the temporary directory are harmless, so a failure to remove them is
    // ignored.
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn with_certificate_file(env: &[(String, String)], file: &str) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    set(&mut env, "SSL_CERT_FILE", file);
    env
}

async fn run_series(series: &[Series<'_>], runs: usize) -> Result<Vec<InitSample>, String> {
    for entry in series {
        start_once(entry.binary, &entry.env).await?;
    }
    let mut samples: Vec<InitSample> = series
        .iter()
        .map(|entry| InitSample {
            name: entry.name,
            has_target: entry.has_target,
            durations: Vec::with_capacity(runs),
        })
        .collect();
    for _ in 0..runs {
        for (sample, entry) in samples.iter_mut().zip(series) {
            sample
                .durations
                .push(start_once(entry.binary, &entry.env).await?);
        }
    }
    Ok(samples)
}

/// Starts one process, waits for its first `/next`, kills it and waits until it is gone.
async fn start_once(binary: &Path, env: &[(String, String)]) -> Result<Duration, String> {
    let function = FunctionProcess::spawn(binary, env)
        .await
        .map_err(|e| e.to_string())?;
    let init = function
        .wait_ready(READY_TIMEOUT)
        .await
        .map_err(|e| format!("{} did not start: {e}", binary.display()))?;
    let pid = function.pid();
    drop(function);
    if let Some(pid) = pid {
        wait_gone(pid).await;
    }
    Ok(init)
}

/// Waits until the process has been killed and reaped, or [`EXIT_TIMEOUT`] has passed.
async fn wait_gone(pid: u32) {
    let proc_dir = format!("/proc/{pid}");
    let started = Instant::now();
    while Path::new(&proc_dir).exists() && started.elapsed() < EXIT_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Builds one row per series: the median with its spread, and the ratio to the hello-world
/// median.
pub fn rows(samples: &[InitSample]) -> Vec<Row> {
    let floor = samples
        .iter()
        .find(|s| s.name == "hello-lambda")
        .and_then(|s| Spread::of(&s.durations));
    let mut rows = Vec::new();
    for sample in samples {
        let Some(spread) = Spread::of(&sample.durations) else {
            continue;
        };
        let figure = format!("{}: median of {}", sample.name, sample.durations.len());
        let detail = format!(
            "min {}, p90 {}, max {}",
            millis(spread.min),
            millis(spread.p90),
            millis(spread.max)
        );
        let row = match floor {
            Some(floor) if sample.name != "hello-lambda" => {
                let ratio = spread.median.as_secs_f64() / floor.median.as_secs_f64();
                let row = if sample.has_target {
                    Row::at_most(
                        figure,
                        millis(spread.median),
                        ratio,
                        MAX_FLOOR_RATIO,
                        format!("<= {MAX_FLOOR_RATIO}x floor"),
                    )
                } else {
                    Row::context(figure, millis(spread.median))
                };
                row.with_floor(millis(floor.median), ratio)
            }
            _ => Row::context(figure, millis(spread.median)),
        };
        rows.push(row.with_detail(detail));
    }
    rows
}
