//! Fault injection through the library API.

use std::time::{Duration, Instant};

use atlas_sim::{ERROR_CODE_HEADER, Fault, FaultKind, FaultMatcher};
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::*;

#[tokio::test]
async fn status_fault_skips_processing() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    api.sim.inject_fault(Fault::new(
        FaultMatcher::new("POST", "/endpoint"),
        1,
        FaultKind::Status {
            code: 429,
            body: None,
            retry_after: Some(7),
        },
    ));

    let limited = api.post_link(&service, VPCE).await;

    assert_eq!(limited.headers()[RETRY_AFTER], "7");
    assert_eq!(limited.headers()[ERROR_CODE_HEADER], "RATE_LIMITED");
    let (status, body) = status_and_body(limited).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errorCode"], "RATE_LIMITED");
    assert!(api.sim.links(PROJECT, &service).is_empty());

    let retried = api.post_link(&service, VPCE).await;
    assert_eq!(retried.status(), StatusCode::OK);
    let records = api.sim.requests();
    assert_eq!(records[0].fault.as_deref(), Some("status 429"));
    assert_eq!(records[1].fault, None);
}

#[tokio::test]
async fn fault_counts_and_matches() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    let path = services_path(PROJECT);
    api.sim
        .inject_fault(Fault::status(FaultMatcher::method("GET"), 2, 503));
    api.sim
        .inject_fault(Fault::status(FaultMatcher::path("/nowhere"), 1, 500));

    let statuses = [
        api.get(&path).await.status(),
        api.get(&path).await.status(),
        api.get(&path).await.status(),
    ];

    assert_eq!(
        statuses,
        [
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::OK
        ]
    );
    assert_eq!(api.sim.pending_faults().len(), 1);
}

#[tokio::test]
async fn status_fault_custom_body() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    api.sim.inject_fault(Fault::new(
        FaultMatcher::any(),
        1,
        FaultKind::Status {
            code: 500,
            body: Some(r#"{"custom":true}"#.to_owned()),
            retry_after: None,
        },
    ));

    let response = api.get(&services_path(PROJECT)).await;

    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, serde_json::json!({"custom": true}));
}

#[tokio::test]
async fn bad_body_fault() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    api.sim.inject_fault(Fault::new(
        FaultMatcher::any(),
        1,
        FaultKind::BadBody("<html>gateway</html>".to_owned()),
    ));

    let response = api.get(&services_path(PROJECT)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert_eq!(text, "<html>gateway</html>");
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn success_status_override() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    api.sim.inject_fault(Fault::new(
        FaultMatcher::new("POST", "/endpoint"),
        1,
        FaultKind::SuccessStatus(202),
    ));
    api.sim.inject_fault(Fault::new(
        FaultMatcher::method("DELETE"),
        1,
        FaultKind::SuccessStatus(200),
    ));

    let created = api.post_link(&service, VPCE).await;
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["interfaceEndpointId"], VPCE);

    let deleted = api
        .send(Method::DELETE, &link_path(PROJECT, &service, VPCE), None)
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
}

#[tokio::test]
async fn success_override_waits_for_2xx() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    api.sim.inject_fault(Fault::new(
        FaultMatcher::any(),
        1,
        FaultKind::SuccessStatus(201),
    ));

    let missing = api.get(&link_path(PROJECT, &service, VPCE)).await;
    let created = api.post_link(&service, VPCE).await;

    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(created.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn delay_fault_still_processes() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    api.sim.inject_fault(Fault::new(
        FaultMatcher::method("POST"),
        1,
        FaultKind::Delay(Duration::from_millis(1000)),
    ));

    let body = link_body(VPCE);
    let path = links_path(PROJECT, &service);
    let timed_out = api
        .request(Method::POST, &path)
        .header(
            reqwest::header::AUTHORIZATION,
            api.digest_header(&Method::POST, &path),
        )
        .json(&body)
        .timeout(Duration::from_millis(200))
        .send()
        .await;

    assert!(timed_out.is_err());
    assert_eq!(api.sim.links(PROJECT, &service).len(), 1);
    let records = api.sim.requests();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].fault.as_deref(), Some("delay 1000ms"));
}

#[tokio::test]
async fn delay_fault_delays() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    api.sim.inject_fault(Fault::new(
        FaultMatcher::any(),
        1,
        FaultKind::Delay(Duration::from_millis(300)),
    ));

    let started = Instant::now();
    let response = api.get(&services_path(PROJECT)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn token_endpoint_fault() {
    let api = Api::start(both_config()).await;
    api.sim.inject_fault(Fault::new(
        FaultMatcher::path("/api/oauth/token"),
        1,
        FaultKind::Status {
            code: 429,
            body: None,
            retry_after: Some(1),
        },
    ));

    let limited = api.token().await;
    let issued = api.token().await;

    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(issued.status(), StatusCode::OK);
    assert_eq!(api.sim.token_requests(), 2);
}
