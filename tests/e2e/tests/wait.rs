//! The event function's bounded wait, end to end: a link that Atlas accepts within the wait
//! budget is reported in sync, one still pending when the budget ends is reported converging.

use std::time::{Duration, Instant};

use atlas_sim::AuthMode;
use e2e::{PRIVATE_KEY, PUBLIC_KEY, Sandbox, invoke_ok};

/// Starts a sandbox whose simulator accepts new links only after `accept_delay`.
async fn sandbox_with_accept_delay(accept_delay: Duration) -> Sandbox {
    let auth = AuthMode::Digest {
        public_key: PUBLIC_KEY.into(),
        private_key: PRIVATE_KEY.into(),
    };
    Sandbox::start_with(auth, accept_delay).await
}

fn with_budget(sandbox: &Sandbox, seconds: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = sandbox
        .env()
        .into_iter()
        .filter(|(k, _)| k != "WAIT_BUDGET_SECONDS")
        .collect();
    env.push(("WAIT_BUDGET_SECONDS".into(), seconds.into()));
    env
}

#[tokio::test]
async fn link_settling_within_budget_in_sync() {
    let sandbox = sandbox_with_accept_delay(Duration::from_secs(2)).await;
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(&with_budget(&sandbox, "20")).await;

    let started = Instant::now();
    let result = invoke_ok(
        &function,
        &sandbox.event("create-interface-one-subnet", &[&vpce]),
    )
    .await;

    let linked = &result["endpoints"][0];
    assert_eq!(linked["action"], "linked");
    assert_eq!(linked["atlasStatus"], "AVAILABLE");
    assert_eq!(linked["verdict"], "inSync");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited for Atlas to accept"
    );
}

#[tokio::test]
async fn link_pending_after_budget_converging() {
    let sandbox = sandbox_with_accept_delay(Duration::from_secs(120)).await;
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(&with_budget(&sandbox, "3")).await;

    let started = Instant::now();
    let result = invoke_ok(
        &function,
        &sandbox.event("create-interface-one-subnet", &[&vpce]),
    )
    .await;

    let linked = &result["endpoints"][0];
    assert_eq!(linked["action"], "linked");
    assert_eq!(linked["atlasStatus"], "PENDING_ACCEPTANCE");
    assert_eq!(linked["verdict"], "converging");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped when the budget ended"
    );
    assert!(
        sandbox.atlas_requests("GET", &format!("/endpoint/{vpce}")) >= 2,
        "re-read while waiting"
    );
}
