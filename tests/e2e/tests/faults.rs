//! The event function under faults. The compiled binary runs through the Lambda Runtime API
//! against moto and an Atlas simulator that throttles, fails, hangs, sends bodies that are not
//! JSON or rejects the credentials, and against an EC2 endpoint that cannot be reached. Each test
//! checks the links Atlas ends up with and the function's result or error type. The last tests
//! check that no credential shows up in the function's output, in any common encoding.

use std::time::{Duration, Instant};

use atlas_sim::{AuthMode, Fault, FaultKind, FaultMatcher, RequestRecord, TOKEN_PATH};
use e2e::{CLIENT_ID, PUBLIC_KEY, REGION, Sandbox, invoke_err, invoke_ok};
use harness::{Ec2Fixtures, FunctionProcess, Invocation};
use serde_json::{Value, json};

const CREATE_EVENT: &str = "create-interface-one-subnet";
const DELETE_EVENT: &str = "delete-one";

/// Path suffix of the endpoint-service listing.
const LISTING: &str = "/privateEndpoint/AWS/endpointService";
/// Path suffix of the link POST.
const LINK: &str = "/endpoint";
/// Path fragment of a link read or DELETE.
const ONE_LINK: &str = "/endpoint/vpce-";

fn status(code: u16, retry_after: Option<u64>) -> FaultKind {
    FaultKind::Status {
        code,
        body: None,
        retry_after,
    }
}

/// Returns `env` with each of `vars` set, replacing an earlier value of the same name.
fn with_vars(mut env: Vec<(String, String)>, vars: &[(&str, &str)]) -> Vec<(String, String)> {
    for (key, value) in vars {
        env.retain(|(k, _)| k != key);
        env.push(((*key).to_owned(), (*value).to_owned()));
    }
    env
}

/// Returns the recorded Atlas requests with `method` whose path ends with `suffix`, oldest first.
fn requests_ending(sandbox: &Sandbox, method: &str, suffix: &str) -> Vec<RequestRecord> {
    sandbox
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .collect()
}

fn statuses(requests: &[RequestRecord]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

/// Counts the requests that change Atlas: POST and DELETE outside the token endpoint.
fn atlas_writes(sandbox: &Sandbox) -> usize {
    sandbox
        .sim
        .requests()
        .iter()
        .filter(|r| (r.method == "POST" || r.method == "DELETE") && r.path != TOKEN_PATH)
        .count()
}

/// Invokes the function with `deadline` once it is ready, and returns the outcome with the time
/// the invocation took. Panics if the function misses the deadline.
async fn invoke_timed(
    function: &FunctionProcess,
    event: &Value,
    deadline: Duration,
) -> (Invocation, Duration) {
    function
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("function polls for events");
    let started = Instant::now();
    let outcome = function
        .invoke(event, deadline)
        .await
        .unwrap_or_else(|e| panic!("invocation did not return within {deadline:?}: {e}"));
    (outcome, started.elapsed())
}

fn expect_error(outcome: Invocation) -> (String, String) {
    match outcome {
        Invocation::FunctionError {
            error_type,
            error_message,
        } => (error_type, error_message),
        Invocation::Ok(value) => panic!("expected an error, got {value}"),
    }
}

#[tokio::test]
async fn throttled_link_waits_retry_after() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let throttle = status(429, Some(1));
    sandbox
        .sim
        .inject_fault(Fault::new(FaultMatcher::new("POST", LINK), 3, throttle));
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(result["endpoints"][0]["action"], "linked");
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
    let posts = requests_ending(&sandbox, "POST", LINK);
    assert_eq!(statuses(&posts), [429, 429, 429, 200]);
    for pair in posts.windows(2) {
        let gap_ms = pair[1].at_unix_ms - pair[0].at_unix_ms;
        assert!(
            gap_ms >= 1000,
            "a retry came {gap_ms} ms after a 429 with Retry-After: 1"
        );
    }
}

#[tokio::test]
async fn server_errors_on_listing_and_link_retried() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    // The listing is the first GET, so these two faults hit its first two attempts.
    for code in [500, 503] {
        let fault = Fault::new(FaultMatcher::new("GET", LISTING), 1, status(code, None));
        sandbox.sim.inject_fault(fault);
    }
    for code in [503, 500] {
        let fault = Fault::new(FaultMatcher::new("POST", LINK), 1, status(code, None));
        sandbox.sim.inject_fault(fault);
    }
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(result["endpoints"][0]["action"], "linked");
    assert_eq!(result["endpoints"][0]["verdict"], "inSync");
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
    let listings = requests_ending(&sandbox, "GET", LISTING);
    let listing_statuses = statuses(&listings);
    assert_eq!(listing_statuses[..2], [500, 503], "{listings:?}");
    assert_eq!(listing_statuses.last(), Some(&200), "{listings:?}");
    let posts = requests_ending(&sandbox, "POST", LINK);
    assert_eq!(statuses(&posts), [503, 500, 200]);
    assert!(sandbox.sim.pending_faults().is_empty());
}

#[tokio::test]
async fn persistent_server_error_gives_up() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let fault = Fault::new(FaultMatcher::new("POST", LINK), 20, status(503, None));
    sandbox.sim.inject_fault(fault);
    let function = sandbox.function(&sandbox.env()).await;
    let deadline = Duration::from_secs(30);

    let event = sandbox.event(CREATE_EVENT, &[&vpce]);
    let (outcome, elapsed) = invoke_timed(&function, &event, deadline).await;

    let (error_type, message) = expect_error(outcome);
    assert_eq!(error_type, "Retryable");
    assert!(message.contains("503"), "{message}");
    assert_eq!(
        requests_ending(&sandbox, "POST", LINK).len(),
        5,
        "the client makes 5 attempts"
    );
    assert!(sandbox.linked().await.is_empty());
    assert!(elapsed < deadline, "took {elapsed:?}");
}

#[tokio::test]
async fn long_retry_after_stops_before_deadline() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let fault = Fault::new(FaultMatcher::new("POST", LINK), 20, status(503, Some(5)));
    sandbox.sim.inject_fault(fault);
    let function = sandbox.function(&sandbox.env()).await;
    // Five attempts 5 s apart need 20 s, but the function has 9 s and stops 2 s before that.
    let deadline = Duration::from_secs(9);

    let event = sandbox.event(CREATE_EVENT, &[&vpce]);
    let (outcome, elapsed) = invoke_timed(&function, &event, deadline).await;

    let (error_type, message) = expect_error(outcome);
    assert_eq!(error_type, "Retryable");
    assert!(
        message.contains("before the invocation's deadline"),
        "{message}"
    );
    assert!(
        elapsed < deadline - Duration::from_secs(1),
        "took {elapsed:?} of the {deadline:?} deadline"
    );
    assert_eq!(
        statuses(&requests_ending(&sandbox, "POST", LINK)),
        [503, 503]
    );
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn hung_link_request_retried_as_conflict() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    // The simulator creates the link, then delays the response past the client's 10 s time-out.
    let hang = FaultKind::Delay(Duration::from_secs(12));
    sandbox
        .sim
        .inject_fault(Fault::new(FaultMatcher::new("POST", LINK), 1, hang));
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    let action = result["endpoints"][0]["action"]
        .as_str()
        .unwrap_or_default();
    assert!(
        action == "alreadyLinked" || action == "linked",
        "action {action:?} in {result}"
    );
    assert_eq!(result["endpoints"][0]["verdict"], "inSync");
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
    let posts = requests_ending(&sandbox, "POST", LINK);
    assert_eq!(statuses(&posts), [200, 409], "{posts:?}");
    let gap_ms = posts[1].at_unix_ms - posts[0].at_unix_ms;
    assert!(
        gap_ms >= 10_000,
        "retried after {gap_ms} ms, before the 10 s time-out"
    );
    let reread = sandbox.sim.requests().into_iter().any(|r| {
        r.method == "GET" && r.path.contains(ONE_LINK) && r.at_unix_ms >= posts[1].at_unix_ms
    });
    assert!(reread, "the link was not read after the 409");
}

#[tokio::test]
async fn listing_not_json_once_retried() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let html = FaultKind::BadBody("<html><body>Bad gateway</body></html>".into());
    sandbox
        .sim
        .inject_fault(Fault::new(FaultMatcher::new("GET", LISTING), 1, html));
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(result["endpoints"][0]["action"], "linked");
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
    let listings = requests_ending(&sandbox, "GET", LISTING);
    assert_eq!(listings[0].fault.as_deref(), Some("bad body"));
    assert!(listings.len() >= 2, "the listing was not retried");
    assert_eq!(listings.last().map(|r| r.status), Some(200));
}

#[tokio::test]
async fn listing_never_json_is_retryable() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let html = FaultKind::BadBody("<html><body>Bad gateway</body></html>".into());
    sandbox
        .sim
        .inject_fault(Fault::new(FaultMatcher::new("GET", LISTING), 20, html));
    let function = sandbox.function(&sandbox.env()).await;

    let (error_type, message) = invoke_err(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(error_type, "Retryable");
    assert!(message.contains("not JSON"), "{message}");
    assert_eq!(requests_ending(&sandbox, "GET", LISTING).len(), 5);
    assert_eq!(atlas_writes(&sandbox), 0);
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn token_not_json_once_retried() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let html = FaultKind::BadBody("<html><body>Bad gateway</body></html>".into());
    sandbox
        .sim
        .inject_fault(Fault::new(FaultMatcher::new("POST", TOKEN_PATH), 1, html));
    let function = sandbox.function(&sandbox.env_service_account()).await;

    let result = invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(result["endpoints"][0]["action"], "linked");
    assert_eq!(sandbox.sim.token_requests(), 2);
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
}

#[tokio::test]
async fn wrong_private_key_not_retried() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let env = with_vars(
        sandbox.env(),
        &[("MONGODB_ATLAS_PRIVATE_API_KEY", "not-the-private-key")],
    );
    let function = sandbox.function(&env).await;

    let (error_type, message) = invoke_err(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(error_type, "Configuration");
    assert!(message.contains("401"), "{message}");
    let requests = sandbox.sim.requests();
    assert!(
        requests.len() <= 2,
        "one renewed challenge at most: {requests:?}"
    );
    assert!(requests.iter().all(|r| r.status == 401), "{requests:?}");
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn forbidden_listing_not_retried() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let fault = Fault::new(FaultMatcher::new("GET", LISTING), 20, status(403, None));
    sandbox.sim.inject_fault(fault);
    let function = sandbox.function(&sandbox.env()).await;

    let (error_type, message) = invoke_err(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(error_type, "Configuration");
    assert!(message.contains("403"), "{message}");
    let requests = sandbox.sim.requests();
    assert!(requests.len() <= 2, "{requests:?}");
    assert!(requests.iter().all(|r| r.status == 403), "{requests:?}");
    assert_eq!(atlas_writes(&sandbox), 0);
}

#[tokio::test]
async fn wrong_client_secret_not_retried() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let env = with_vars(
        sandbox.env_service_account(),
        &[("MONGODB_ATLAS_CLIENT_SECRET", "not-the-client-secret")],
    );
    let function = sandbox.function(&env).await;

    let (error_type, message) = invoke_err(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(error_type, "Configuration");
    assert!(message.contains("401"), "{message}");
    assert_eq!(sandbox.sim.token_requests(), 1);
    assert_eq!(sandbox.sim.requests().len(), 1);
}

#[tokio::test]
async fn rejected_token_renewed_once() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let fault = Fault::new(FaultMatcher::new("GET", LISTING), 1, status(401, None));
    sandbox.sim.inject_fault(fault);
    let function = sandbox.function(&sandbox.env_service_account()).await;

    let result = invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(result["endpoints"][0]["action"], "linked");
    assert_eq!(
        sandbox.sim.token_requests(),
        2,
        "one new token after the 401"
    );
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
}

#[tokio::test]
async fn token_rejected_twice_is_configuration() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let fault = Fault::new(FaultMatcher::new("GET", LISTING), 20, status(401, None));
    sandbox.sim.inject_fault(fault);
    let function = sandbox.function(&sandbox.env_service_account()).await;

    let (error_type, message) = invoke_err(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(error_type, "Configuration");
    assert!(message.contains("401"), "{message}");
    assert_eq!(requests_ending(&sandbox, "GET", LISTING).len(), 2);
    assert_eq!(sandbox.sim.token_requests(), 2);
}

#[tokio::test]
async fn throttled_token_request_retried() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let fault = Fault::new(FaultMatcher::new("POST", TOKEN_PATH), 2, status(429, None));
    sandbox.sim.inject_fault(fault);
    let function = sandbox.function(&sandbox.env_service_account()).await;

    let result = invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(result["endpoints"][0]["action"], "linked");
    assert_eq!(sandbox.sim.token_requests(), 3);
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
}

#[tokio::test]
async fn persistent_token_failure_gives_up() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let fault = Fault::new(FaultMatcher::new("POST", TOKEN_PATH), 50, status(503, None));
    sandbox.sim.inject_fault(fault);
    let function = sandbox.function(&sandbox.env_service_account()).await;

    let (error_type, message) = invoke_err(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(error_type, "Retryable");
    assert!(message.contains("503"), "{message}");
    assert!(
        sandbox.sim.token_requests() <= 5,
        "{} token requests for one failing API request",
        sandbox.sim.token_requests()
    );
    assert_eq!(sandbox.sim.requests().len(), sandbox.sim.token_requests());
}

#[tokio::test]
async fn unreachable_ec2_is_retryable() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let env = with_vars(
        sandbox.env(),
        &[(
            "AWS_ENDPOINT_URL",
            harness::runtime::UNREACHABLE_ENDPOINT_URL,
        )],
    );
    let function = sandbox.function(&env).await;

    let (error_type, message) = invoke_err(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(error_type, "Retryable");
    assert!(message.contains("DescribeVpcEndpoints"), "{message}");
    assert_eq!(atlas_writes(&sandbox), 0);
    assert!(sandbox.linked().await.is_empty());
}

/// CloudTrail never reports a region that does not exist, and the function has no list of regions
/// to check one against. So it reports a `Retryable` EC2 failure, and after Lambda's retries the
/// event stays in the dead-letter queue. In real AWS the region's EC2 host name does not resolve.
/// moto 5.2 responds 500 to a region it does not serve.
#[tokio::test]
async fn unknown_region_is_retryable() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(&sandbox.env()).await;
    let mut event = sandbox.event(CREATE_EVENT, &[&vpce]);
    event["region"] = json!("xx-nowhere-9");
    event["detail"]["awsRegion"] = json!("xx-nowhere-9");

    let (error_type, message) = invoke_err(&function, &event).await;

    assert_eq!(error_type, "Retryable");
    assert!(message.contains("xx-nowhere-9"), "{message}");
    assert!(sandbox.sim.requests().is_empty());
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn other_success_statuses_accepted() {
    let sandbox = Sandbox::start().await;
    let first = sandbox.create_endpoint(1).await;
    let second = sandbox.create_endpoint(2).await;
    let function = sandbox.function(&sandbox.env()).await;

    let mut results = Vec::new();
    for (vpce, code) in [(&first, 201), (&second, 202)] {
        let fault = Fault::new(
            FaultMatcher::new("POST", LINK),
            1,
            FaultKind::SuccessStatus(code),
        );
        sandbox.sim.inject_fault(fault);
        results.push(invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[vpce])).await);
    }
    sandbox
        .moto
        .delete_endpoints(REGION, std::slice::from_ref(&first))
        .await
        .unwrap();
    let fault = Fault::new(
        FaultMatcher::new("DELETE", ONE_LINK),
        1,
        FaultKind::SuccessStatus(200),
    );
    sandbox.sim.inject_fault(fault);
    let deleted = invoke_ok(&function, &sandbox.event(DELETE_EVENT, &[&first])).await;

    assert_eq!(results[0]["endpoints"][0]["action"], "linked");
    assert_eq!(results[1]["endpoints"][0]["action"], "linked");
    assert_eq!(deleted["endpoints"][0]["action"], "unlinked");
    assert_eq!(deleted["endpoints"][0]["verdict"], "inSync");
    assert_eq!(
        statuses(&requests_ending(&sandbox, "POST", LINK)),
        [201, 202]
    );
    let deletes: Vec<u16> = sandbox
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.status)
        .collect();
    assert_eq!(deletes, [200]);
    assert_eq!(
        sandbox.linked().await,
        vec![(second, "AVAILABLE".to_owned())]
    );
}

// Secret leak tests. Each runs a create, a delete and a failing invocation at log level TRACE.
// Then it scans everything the function wrote and returned for the credentials it was given.

/// The secrets carry characters that URL encoding and base64 change, so that each encoded form
/// differs from the plain text.
const LEAK_PRIVATE_KEY: &str = "leak+api/key=5b0c&7a%2F?x9";
const LEAK_WRONG_PRIVATE_KEY: &str = "wrong+api/key=c4d1&e8%3A?y7";
const LEAK_CLIENT_SECRET: &str = "mdb_sa_sk_leak+oauth/secret=91f3&q%26?z4";
const LEAK_WRONG_CLIENT_SECRET: &str = "mdb_sa_sk_wrong+oauth/secret=0d2e&r%40?w1";
const LEAK_STORED_CLIENT_SECRET: &str = "mdb_sa_sk_stored+in/secrets=manager&6a%3D?v8";
const LEAK_STORED_WRONG_KEY: &str = "stored+wrong/key=77e0&s%5C?u2";

const BASE64_STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `bytes` in base64 with the standard alphabet, without padding.
fn base64_unpadded(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let group = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            let index = (group >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(BASE64_STANDARD[index as usize]));
        }
    }
    out
}

fn url_safe(base64: &str) -> String {
    base64.replace('+', "-").replace('/', "_")
}

/// Percent-encodes every byte outside RFC 3986's unreserved set, with upper-case hex.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Returns the texts whose presence in the output would reveal `secret`. They are the plain value,
/// its URL encodings, its hex, and its base64 (standard and URL-safe) at each of the three byte
/// alignments it can have inside a longer encoded text. For each alignment, only the characters
/// that depend on the secret's bytes alone are kept.
fn leak_forms(secret: &str) -> Vec<String> {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let percent = percent_encode(secret);
    let mut forms = vec![
        secret.to_owned(),
        percent.clone(),
        percent.to_ascii_lowercase(),
        hex.clone(),
        hex.to_ascii_uppercase(),
    ];
    for offset in 0..3 {
        let mut shifted = vec![0u8; offset];
        shifted.extend_from_slice(secret.as_bytes());
        let encoded = base64_unpadded(&shifted);
        let first = (offset * 8).div_ceil(6);
        let end = shifted.len() * 8 / 6;
        let stable = &encoded[first..end];
        forms.push(stable.to_owned());
        forms.push(url_safe(stable));
    }
    forms
}

/// Returns the HTTP Basic encodings of `user:password` (standard and URL-safe base64, padded).
fn basic_forms(user: &str, password: &str) -> Vec<String> {
    let mut encoded = base64_unpadded(format!("{user}:{password}").as_bytes());
    while !encoded.len().is_multiple_of(4) {
        encoded.push('=');
    }
    vec![url_safe(&encoded), encoded]
}

/// Asserts that no form of any of `secrets`, nor any of `extra_forms`, occurs in `output`.
fn assert_no_leak(output: &str, secrets: &[&str], extra_forms: &[String]) {
    for secret in secrets {
        for form in leak_forms(secret) {
            assert!(
                !output.contains(&form),
                "the output contains {form:?}, a form of the secret {secret:?}"
            );
        }
    }
    for form in extra_forms {
        assert!(!output.contains(form), "the output contains {form:?}");
    }
}

/// Collects what a leak test scans: the function's log lines and the results it returned.
#[derive(Default)]
struct Capture {
    text: String,
}

impl Capture {
    fn result(&mut self, value: &Value) {
        self.text.push_str(&value.to_string());
        self.text.push('\n');
    }

    fn error(&mut self, (error_type, message): &(String, String)) {
        self.text.push_str(&format!("{error_type}: {message}\n"));
    }

    fn logs(&mut self, function: &FunctionProcess) {
        for line in function.logs() {
            self.text.push_str(&line);
            self.text.push('\n');
        }
    }
}

/// Links and then unlinks a new endpoint with `env`, adding the results and logs to `capture`.
async fn create_and_delete(sandbox: &Sandbox, env: &[(String, String)], capture: &mut Capture) {
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(env).await;
    let linked = invoke_ok(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;
    sandbox
        .moto
        .delete_endpoints(REGION, std::slice::from_ref(&vpce))
        .await
        .unwrap();
    let unlinked = invoke_ok(&function, &sandbox.event(DELETE_EVENT, &[&vpce])).await;

    assert_eq!(linked["endpoints"][0]["action"], "linked");
    assert_eq!(unlinked["endpoints"][0]["action"], "unlinked");
    capture.result(&linked);
    capture.result(&unlinked);
    capture.logs(&function);
}

/// Runs a create with `env`, expects a `Configuration` error and adds its output to `capture`.
async fn rejected_create(sandbox: &Sandbox, env: &[(String, String)], capture: &mut Capture) {
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(env).await;
    let error = invoke_err(&function, &sandbox.event(CREATE_EVENT, &[&vpce])).await;

    assert_eq!(error.0, "Configuration", "{}", error.1);
    assert!(error.1.contains("401"), "{}", error.1);
    capture.error(&error);
    capture.logs(&function);
}

/// Checks that the capture contains TRACE-level output, so that a clean scan means something.
fn assert_verbose(capture: &Capture) {
    assert!(
        capture.text.contains("sending Atlas request"),
        "no DEBUG line was captured:\n{}",
        capture.text
    );
    assert!(
        capture.text.contains("\"error_type\":\"Configuration\""),
        "the failing invocation's log line was not captured:\n{}",
        capture.text
    );
}

#[tokio::test]
async fn api_key_never_in_output() {
    let sandbox = Sandbox::start_with_auth(AuthMode::Digest {
        public_key: PUBLIC_KEY.into(),
        private_key: LEAK_PRIVATE_KEY.into(),
    })
    .await;
    let env = with_vars(
        sandbox.env(),
        &[
            ("MONGODB_ATLAS_PRIVATE_API_KEY", LEAK_PRIVATE_KEY),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ],
    );
    let wrong_env = with_vars(
        env.clone(),
        &[("MONGODB_ATLAS_PRIVATE_API_KEY", LEAK_WRONG_PRIVATE_KEY)],
    );
    let mut capture = Capture::default();

    create_and_delete(&sandbox, &env, &mut capture).await;
    rejected_create(&sandbox, &wrong_env, &mut capture).await;

    assert_verbose(&capture);
    assert_no_leak(
        &capture.text,
        &[LEAK_PRIVATE_KEY, LEAK_WRONG_PRIVATE_KEY],
        &[],
    );
}

#[tokio::test]
async fn client_secret_never_in_output() {
    let sandbox = Sandbox::start_with_auth(AuthMode::OAuth {
        client_id: CLIENT_ID.into(),
        client_secret: LEAK_CLIENT_SECRET.into(),
    })
    .await;
    let env = with_vars(
        sandbox.env_service_account(),
        &[
            ("MONGODB_ATLAS_CLIENT_SECRET", LEAK_CLIENT_SECRET),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ],
    );
    let wrong_env = with_vars(
        env.clone(),
        &[("MONGODB_ATLAS_CLIENT_SECRET", LEAK_WRONG_CLIENT_SECRET)],
    );
    let mut capture = Capture::default();

    create_and_delete(&sandbox, &env, &mut capture).await;
    rejected_create(&sandbox, &wrong_env, &mut capture).await;

    assert_verbose(&capture);
    let mut basic = basic_forms(CLIENT_ID, LEAK_CLIENT_SECRET);
    basic.extend(basic_forms(CLIENT_ID, LEAK_WRONG_CLIENT_SECRET));
    assert_no_leak(
        &capture.text,
        &[LEAK_CLIENT_SECRET, LEAK_WRONG_CLIENT_SECRET],
        &basic,
    );
}

#[tokio::test]
async fn stored_secret_never_in_output() {
    let sandbox = Sandbox::start_with_auth(AuthMode::Both {
        public_key: PUBLIC_KEY.into(),
        private_key: LEAK_PRIVATE_KEY.into(),
        client_id: CLIENT_ID.into(),
        client_secret: LEAK_STORED_CLIENT_SECRET.into(),
    })
    .await;
    let stored = json!({"client_id": CLIENT_ID, "client_secret": LEAK_STORED_CLIENT_SECRET});
    let stored_wrong = json!({"public_key": PUBLIC_KEY, "private_key": LEAK_STORED_WRONG_KEY});
    for (name, value) in [("atlas/leak", &stored), ("atlas/leak-wrong", &stored_wrong)] {
        sandbox
            .moto
            .create_secret(REGION, name, value)
            .await
            .unwrap();
    }
    let env: Vec<(String, String)> = sandbox
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("MONGODB_ATLAS_P"))
        .collect();
    let env = with_vars(
        env,
        &[
            ("ATLAS_CREDENTIALS_SECRET", "atlas/leak"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ],
    );
    let wrong_env = with_vars(
        env.clone(),
        &[("ATLAS_CREDENTIALS_SECRET", "atlas/leak-wrong")],
    );
    let mut capture = Capture::default();

    create_and_delete(&sandbox, &env, &mut capture).await;
    rejected_create(&sandbox, &wrong_env, &mut capture).await;

    assert_verbose(&capture);
    assert!(
        capture
            .text
            .contains("read Atlas credentials from Secrets Manager"),
        "the secret was not read:\n{}",
        capture.text
    );
    let mut extra = basic_forms(CLIENT_ID, LEAK_STORED_CLIENT_SECRET);
    extra.push(stored.to_string());
    extra.push(stored_wrong.to_string());
    assert_no_leak(
        &capture.text,
        &[LEAK_STORED_CLIENT_SECRET, LEAK_STORED_WRONG_KEY],
        &extra,
    );
}

/// When `AWS_LAMBDA_LOG_LEVEL` is unset, `RUST_LOG` can turn on the TRACE output of the HTTP and
/// AWS SDK crates, which otherwise log at WARN. The stored secret must stay out of that output.
#[tokio::test]
async fn stored_secret_not_in_dependency_trace() {
    let sandbox = Sandbox::start_with_auth(AuthMode::OAuth {
        client_id: CLIENT_ID.into(),
        client_secret: LEAK_STORED_CLIENT_SECRET.into(),
    })
    .await;
    let stored = json!({"client_id": CLIENT_ID, "client_secret": LEAK_STORED_CLIENT_SECRET});
    sandbox
        .moto
        .create_secret(REGION, "atlas/leak", &stored)
        .await
        .unwrap();
    let env: Vec<(String, String)> = sandbox
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("MONGODB_ATLAS_P") && k != "AWS_LAMBDA_LOG_LEVEL")
        .collect();
    let dependencies = "trace,reqwest=trace,hyper=trace,hyper_util=trace,\
        aws_smithy_runtime=trace,aws_smithy_runtime_api=trace,aws_smithy_http_client=trace,\
        aws_sdk_secretsmanager=trace,aws_sdk_ec2=trace,aws_config=trace,lambda_runtime=trace";
    let env = with_vars(
        env,
        &[
            ("ATLAS_CREDENTIALS_SECRET", "atlas/leak"),
            ("RUST_LOG", dependencies),
        ],
    );
    let mut capture = Capture::default();

    create_and_delete(&sandbox, &env, &mut capture).await;

    assert!(
        capture.text.contains("read HTTP response body"),
        "no TRACE line of the AWS SDK was captured:\n{}",
        capture.text
    );
    let mut extra = basic_forms(CLIENT_ID, LEAK_STORED_CLIENT_SECRET);
    extra.push(stored.to_string());
    assert_no_leak(&capture.text, &[LEAK_STORED_CLIENT_SECRET], &extra);
}

#[test]
fn leak_forms_find_encoded_secrets() {
    let secret = "s3cr+t/value=1";
    let header = format!(
        "Authorization: Basic {}",
        basic_forms("id", secret).remove(1)
    );
    let embedded = format!("x{}y", base64_unpadded(format!("ab{secret}cd").as_bytes()));
    for text in [
        header,
        embedded,
        format!("k={}", percent_encode(secret)),
        format!(
            "hex {}",
            secret
                .bytes()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        ),
    ] {
        let found = leak_forms(secret).iter().any(|form| text.contains(form));
        assert!(found, "no form of {secret:?} found in {text:?}");
    }
    assert_eq!(
        base64_unpadded(b"any carnal pleas"),
        "YW55IGNhcm5hbCBwbGVhcw"
    );
}
