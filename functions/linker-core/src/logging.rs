//! JSON logs that Lambda's log controls understand: one object per line with `level`,
//! `timestamp`, the message and the event's fields, filtered by `AWS_LAMBDA_LOG_LEVEL` (set by
//! Lambda's application log level) or, when that is unset, `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. Call once, first thing in `main`.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|level| lambda_level_to_filter(&level))
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    // Dependencies log at warn and above unless the level names them explicitly.
    let filter = EnvFilter::try_new(format!(
        "warn,linker_core={level},linker_events={level},linker_reconcile={level}"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .init();
}

/// Maps Lambda's level names (`TRACE` … `FATAL`) to tracing's.
fn lambda_level_to_filter(level: &str) -> String {
    match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => "info",
    }
    .to_owned()
}
