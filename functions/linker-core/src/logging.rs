//! JSON logs that Lambda's log controls understand: one object per line with `level`,
//! `timestamp`, the message and the event's fields, filtered by `AWS_LAMBDA_LOG_LEVEL` (set by
//! Lambda's application log level) or, when that is unset, `RUST_LOG`: a bare level applies to the
//! functions' own crates, and a full directive such as `linker_core=debug,reqwest=trace` is used
//! as it is.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. Call once, first thing in `main`.
pub fn init() {
    // Dependencies log at warn and above, and the functions' own crates at the chosen level.
    let own_crates = |level: &str| {
        format!("warn,linker_core={level},linker_events={level},linker_reconcile={level}")
    };
    let directives = match (
        std::env::var("AWS_LAMBDA_LOG_LEVEL"),
        std::env::var("RUST_LOG"),
    ) {
        (Ok(level), _) => own_crates(&lambda_level_to_filter(&level)),
        (Err(_), Ok(rust_log)) if rust_log.contains('=') => rust_log,
        (Err(_), Ok(level)) => own_crates(&level),
        (Err(_), Err(_)) => own_crates("info"),
    };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|error| {
        eprintln!("ignoring the invalid log filter {directives:?} ({error}); logging at info");
        EnvFilter::new(own_crates("info"))
    });
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
