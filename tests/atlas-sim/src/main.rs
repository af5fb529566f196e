//! `atlas-sim` binary: runs the simulator on 127.0.0.1 for the local demo,
//! prints the base URL as one line on stdout when ready, and logs JSON lines
//! to stderr until interrupted.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use atlas_sim::{AuthMode, SimConfig, Simulator};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
Usage: atlas-sim [OPTIONS]

Runs the Atlas Admin API simulator on 127.0.0.1 and prints its base URL.

Options (at least one of --digest and --oauth is required):
  --port N                 TCP port on 127.0.0.1; 0 picks a free port [default: 0]
  --digest PUBLIC:PRIVATE  accept Digest authentication with this API key
  --oauth ID:SECRET        accept this service account at /api/oauth/token
  --accept-delay-ms N      milliseconds a new link stays PENDING_ACCEPTANCE [default: 0]
  --delete-delay-ms N      milliseconds an unlinked endpoint stays DELETING [default: 0]
  --token-ttl-secs N       lifetime of OAuth access tokens in seconds [default: 3600]
  --nonce-ttl-secs N       lifetime of Digest nonces in seconds [default: 300]
  --ec2-endpoint URL       EC2-compatible endpoint (for example moto) that decides
                           whether a link is accepted or rejected
  --ec2-account ID         also search this account for endpoints, through the
                           role atlas-sim-reader; repeatable
  --ec2-region REGION      also search this AWS region (eu-west-1) for endpoints,
                           for cross-region PrivateLink; repeatable
  --service PROJECT,REGION,SERVICE_NAME[,SERVICE_ID]
                           add an AWS endpoint service; repeatable
  -h, --help               print this help

Log level: RUST_LOG (default info).";

#[derive(Debug)]
struct ServiceArg {
    project_id: String,
    region_name: String,
    endpoint_service_name: String,
    service_id: Option<String>,
}

#[derive(Debug)]
struct Args {
    port: u16,
    config: SimConfig,
    services: Vec<ServiceArg>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut port = 0;
    let mut config = SimConfig::default();
    let mut digest = None;
    let mut oauth = None;
    let mut services = Vec::new();

    while let Some(flag) = argv.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = argv
            .next()
            .ok_or_else(|| format!("missing value for {flag}"))?;
        match flag.as_str() {
            "--port" => port = parse_number(&flag, &value)?,
            "--digest" => digest = Some(split_pair(&flag, &value)?),
            "--oauth" => oauth = Some(split_pair(&flag, &value)?),
            "--accept-delay-ms" => {
                config.accept_delay = Duration::from_millis(parse_number(&flag, &value)?);
            }
            "--delete-delay-ms" => {
                config.delete_delay = Duration::from_millis(parse_number(&flag, &value)?);
            }
            "--token-ttl-secs" => {
                config.token_ttl = Duration::from_secs(parse_number(&flag, &value)?);
            }
            "--nonce-ttl-secs" => {
                config.nonce_ttl = Duration::from_secs(parse_number(&flag, &value)?);
            }
            "--ec2-endpoint" => config.ec2_endpoint = Some(value),
            "--ec2-account" => {
                let valid = value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit());
                if !valid {
                    return Err(format!("{flag} {value:?} is not a 12-digit account id"));
                }
                config.ec2_accounts.push(value);
            }
            "--ec2-region" => {
                let valid = !value.is_empty()
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !valid {
                    return Err(format!(
                        "{flag} {value:?} is not an AWS region such as eu-west-1"
                    ));
                }
                config.ec2_regions.push(value);
            }
            "--service" => services.push(parse_service(&value)?),
            other => return Err(format!("unknown option {other}")),
        }
    }

    config.auth = match (digest, oauth) {
        (Some((public_key, private_key)), None) => AuthMode::Digest {
            public_key,
            private_key,
        },
        (None, Some((client_id, client_secret))) => AuthMode::OAuth {
            client_id,
            client_secret,
        },
        (Some((public_key, private_key)), Some((client_id, client_secret))) => AuthMode::Both {
            public_key,
            private_key,
            client_id,
            client_secret,
        },
        (None, None) => return Err("at least one of --digest and --oauth is required".to_owned()),
    };
    Ok(Some(Args {
        port,
        config,
        services,
    }))
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("invalid value {value:?} for {flag}: expected a non-negative integer"))
}

fn split_pair(flag: &str, value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((left, right)) if !left.is_empty() && !right.is_empty() => {
            Ok((left.to_owned(), right.to_owned()))
        }
        _ => Err(format!(
            "invalid value for {flag}: expected two non-empty parts separated by ':'"
        )),
    }
}

fn parse_service(value: &str) -> Result<ServiceArg, String> {
    let parts: Vec<&str> = value.split(',').collect();
    match parts.as_slice() {
        [project, region, name] | [project, region, name, _] => Ok(ServiceArg {
            project_id: (*project).to_owned(),
            region_name: (*region).to_owned(),
            endpoint_service_name: (*name).to_owned(),
            service_id: parts.get(3).map(|id| (*id).to_owned()),
        }),
        _ => Err(format!(
            "invalid --service {value:?}: expected PROJECT,REGION,SERVICE_NAME[,SERVICE_ID]"
        )),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("atlas-sim: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let simulator = match Simulator::start_on_port(args.config, args.port).await {
        Ok(simulator) => simulator,
        Err(error) => {
            tracing::error!(%error, port = args.port, "failed to bind 127.0.0.1");
            return ExitCode::FAILURE;
        }
    };
    for service in &args.services {
        let added = simulator.try_add_endpoint_service(
            &service.project_id,
            &service.region_name,
            &service.endpoint_service_name,
            service.service_id.as_deref(),
        );
        if let Err(message) = added {
            tracing::error!(error = %message, "invalid --service");
            return ExitCode::from(2);
        }
    }

    println!("{}", simulator.base_url());
    let _ = std::io::stdout().flush();

    wait_for_stop_signal().await;
    tracing::info!("stopping");
    simulator.shutdown();
    ExitCode::SUCCESS
}

async fn wait_for_stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "failed to listen for SIGTERM, so only Ctrl-C stops the simulator");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
