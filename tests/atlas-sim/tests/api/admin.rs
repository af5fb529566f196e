//! Admin routes under `/_sim`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::*;

async fn admin_post(api: &Api, path: &str, body: Value) -> (StatusCode, Value) {
    let response = api
        .http
        .post(api.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn admin_get(api: &Api, path: &str) -> Value {
    let response = api.http.get(api.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

async fn admin_delete(api: &Api, path: &str) -> StatusCode {
    api.http
        .delete(api.url(path))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn admin_health() {
    let api = Api::start(digest_config()).await;

    let health = admin_get(&api, "/_sim/health").await;

    assert_eq!(health["status"], "ok");
    assert_eq!(health["baseUrl"], api.sim.base_url());
    assert!(api.sim.requests().is_empty());
}

#[tokio::test]
async fn admin_seeds_and_reads() {
    let api = Api::start(digest_config()).await;
    let service_id = "fedcba9876543210fedcba98";

    let (status, service) = admin_post(
        &api,
        "/_sim/services",
        json!({
            "projectId": PROJECT,
            "regionName": REGION,
            "endpointServiceName": SERVICE_NAME,
            "id": service_id,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(service["id"], service_id);

    let (status, link) = admin_post(
        &api,
        "/_sim/links",
        json!({
            "projectId": PROJECT,
            "serviceId": service_id,
            "vpceId": VPCE,
            "status": "AVAILABLE",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(link["connectionStatus"], "AVAILABLE");

    let links_url = format!("/_sim/projects/{PROJECT}/services/{service_id}/links");
    let links = admin_get(&api, &links_url).await;
    assert_eq!(links[0]["interfaceEndpointId"], VPCE);
    assert_eq!(links[0]["deleteRequested"], false);

    let from_api = api.get_json(&link_path(PROJECT, service_id, VPCE)).await;
    assert_eq!(from_api["connectionStatus"], "AVAILABLE");

    let state = admin_get(&api, "/_sim/state").await;
    assert_eq!(state[0]["projectId"], PROJECT);
    assert_eq!(
        state[0]["services"][0]["links"][0]["interfaceEndpointId"],
        VPCE
    );
}

#[tokio::test]
async fn admin_rejects_bad_input() {
    let api = Api::start(digest_config()).await;
    api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);

    let cases = [
        (
            "/_sim/services",
            json!({"projectId": "bad", "regionName": REGION, "endpointServiceName": "x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_sim/services",
            json!({"projectId": PROJECT, "regionName": REGION, "endpointServiceName": "x"}),
            StatusCode::CONFLICT,
        ),
        (
            "/_sim/links",
            json!({"projectId": PROJECT, "serviceId": "aaaaaaaaaaaaaaaaaaaaaaaa",
                   "vpceId": VPCE, "status": "AVAILABLE"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/_sim/links",
            json!({"projectId": PROJECT, "serviceId": "aaaaaaaaaaaaaaaaaaaaaaaa",
                   "vpceId": VPCE, "status": "UP"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_sim/faults",
            json!({"kind": "successStatus", "status": 500}),
            StatusCode::BAD_REQUEST,
        ),
        ("/_sim/projects", json!({}), StatusCode::BAD_REQUEST),
    ];
    for (path, body, expected) in cases {
        let (status, error) = admin_post(&api, path, body.clone()).await;
        assert_eq!(status, expected, "{path} {body}");
        assert!(error["error"].is_string(), "{path} {body}");
    }
}

#[tokio::test]
async fn admin_faults_and_requests() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);

    let (status, queued) = admin_post(
        &api,
        "/_sim/faults",
        json!([
            {"method": "GET", "pathContains": "/endpointService", "kind": "status",
             "status": 503, "retryAfter": 2},
            {"kind": "delay", "delayMs": 10, "times": 3},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(queued["queued"], 2);
    let faults = admin_get(&api, "/_sim/faults").await;
    assert_eq!(faults[0]["status"], 503);
    assert_eq!(faults[1]["times"], 3);

    let response = api.get(&services_path(PROJECT)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    let requests = admin_get(&api, "/_sim/requests").await;
    assert_eq!(requests[0]["status"], 503);
    assert_eq!(requests[0]["auth"], "digest");
    assert_eq!(requests[0]["method"], "GET");
    assert!(requests[0]["atUnixMs"].as_u64().unwrap() > 0);

    assert_eq!(
        admin_delete(&api, "/_sim/faults").await,
        StatusCode::NO_CONTENT
    );
    assert!(api.sim.pending_faults().is_empty());
    assert_eq!(
        admin_delete(&api, "/_sim/requests").await,
        StatusCode::NO_CONTENT
    );
    assert!(api.sim.requests().is_empty());
    let tokens = admin_get(&api, "/_sim/token-requests").await;
    assert_eq!(tokens["count"], 0);
}

#[tokio::test]
async fn admin_reset_clears_state() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    api.sim.link_directly(
        PROJECT,
        &service,
        VPCE,
        atlas_sim::ConnectionStatus::Available,
    );
    api.sim.inject_fault(atlas_sim::Fault::status(
        atlas_sim::FaultMatcher::any(),
        5,
        500,
    ));

    let response = api.http.post(api.url("/_sim/reset")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(api.sim.state().await.is_empty());
    assert!(api.sim.pending_faults().is_empty());
}
