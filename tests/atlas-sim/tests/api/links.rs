//! Endpoint service reads, the link lifecycle, not-found codes and path
//! validation.

use std::time::Duration;

use atlas_sim::{ConnectionStatus, ERROR_CODE_HEADER, SimConfig};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::*;

fn delayed_config() -> SimConfig {
    SimConfig {
        accept_delay: Duration::from_millis(300),
        delete_delay: Duration::from_millis(300),
        ..digest_config()
    }
}

#[tokio::test]
async fn service_has_aws_shape() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);

    let listed = api.get_json(&services_path(PROJECT)).await;
    let one = api.get_json(&service_path(PROJECT, &service)).await;

    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0], one);
    assert_eq!(one["cloudProvider"], "AWS");
    assert_eq!(one["id"], service.as_str());
    assert_eq!(one["endpointServiceName"], SERVICE_NAME);
    assert_eq!(one["regionName"], REGION);
    assert_eq!(one["status"], "AVAILABLE");
    assert_eq!(one["errorMessage"], Value::Null);
    assert_eq!(one["interfaceEndpoints"], json!([]));
}

#[tokio::test]
async fn link_lifecycle() {
    let api = Api::start(delayed_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    let link_url = link_path(PROJECT, &service, VPCE);

    let created = api.post_link(&service, VPCE).await;
    assert_eq!(created.status(), StatusCode::OK);
    let content_type = created.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert_eq!(content_type, ATLAS_MEDIA_TYPE);
    let body: Value = created.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "cloudProvider": "AWS",
            "connectionStatus": "PENDING_ACCEPTANCE",
            "deleteRequested": false,
            "errorMessage": null,
            "interfaceEndpointId": VPCE,
        })
    );

    let pending = api.get_json(&link_url).await;
    assert_eq!(pending["connectionStatus"], "PENDING_ACCEPTANCE");
    let with_link = api.get_json(&service_path(PROJECT, &service)).await;
    assert_eq!(with_link["interfaceEndpoints"], json!([VPCE]));

    sleep_ms(350).await;
    let available = api.get_json(&link_url).await;
    assert_eq!(available["connectionStatus"], "AVAILABLE");
    let snapshot = api.sim.links(PROJECT, &service);
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0].connection_status, ConnectionStatus::Available);

    let deleted = api.send(Method::DELETE, &link_url, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(deleted.bytes().await.unwrap().is_empty());

    let deleting = api.get_json(&link_url).await;
    assert_eq!(deleting["connectionStatus"], "DELETING");
    assert_eq!(deleting["deleteRequested"], true);
    let repeated = api.send(Method::DELETE, &link_url, None).await;
    assert_eq!(repeated.status(), StatusCode::NO_CONTENT);

    sleep_ms(350).await;
    let (status, body) = status_and_body(api.get(&link_url).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errorCode"], "RESOURCE_NOT_FOUND");
    let without_link = api.get_json(&service_path(PROJECT, &service)).await;
    assert_eq!(without_link["interfaceEndpoints"], json!([]));
    assert!(api.sim.links(PROJECT, &service).is_empty());

    let gone = api.send(Method::DELETE, &link_url, None).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn zero_delay_accepts_on_next_read() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);

    let created: Value = api.post_link(&service, VPCE).await.json().await.unwrap();
    let read = api.get_json(&link_path(PROJECT, &service, VPCE)).await;

    assert_eq!(created["connectionStatus"], "PENDING_ACCEPTANCE");
    assert_eq!(read["connectionStatus"], "AVAILABLE");
}

#[tokio::test]
async fn duplicate_link_conflicts() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    assert_eq!(api.post_link(&service, VPCE).await.status(), StatusCode::OK);

    let again = api.post_link(&service, VPCE).await;

    assert_eq!(
        again.headers()[ERROR_CODE_HEADER],
        "PRIVATE_ENDPOINT_ALREADY_EXISTS"
    );
    let (status, body) = status_and_body(again).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], 409);
    assert_eq!(body["reason"], "Conflict");
    assert_eq!(body["parameters"], json!([VPCE]));
    assert_eq!(api.sim.links(PROJECT, &service).len(), 1);
}

#[tokio::test]
async fn seeded_link_is_served() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    api.sim
        .link_directly(PROJECT, &service, VPCE, ConnectionStatus::Rejected);

    let link = api.get_json(&link_path(PROJECT, &service, VPCE)).await;

    assert_eq!(link["connectionStatus"], "REJECTED");
    assert!(link["errorMessage"].is_string());
}

#[tokio::test]
async fn not_found_codes() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    let missing_service = "aaaaaaaaaaaaaaaaaaaaaaaa";

    let cases = [
        (services_path(OTHER_PROJECT), "GROUP_NOT_FOUND"),
        (service_path(OTHER_PROJECT, &service), "GROUP_NOT_FOUND"),
        (
            service_path(PROJECT, missing_service),
            "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND",
        ),
        (
            link_path(PROJECT, missing_service, VPCE),
            "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND",
        ),
        (link_path(PROJECT, &service, VPCE), "RESOURCE_NOT_FOUND"),
    ];
    for (path, code) in cases {
        let (status, body) = status_and_body(api.get(&path).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["errorCode"], code, "{path}");
    }

    let posted = api.post_link(missing_service, VPCE).await;
    assert_eq!(posted.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn path_validation() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    let prefix = "/api/atlas/v2/groups";
    let cases = [
        (
            format!("{prefix}/0123456789ABCDEF01234567/privateEndpoint/AWS/endpointService"),
            "PATH_PARAM_PARSE_ERROR",
        ),
        (
            format!("{prefix}/123/privateEndpoint/AWS/endpointService"),
            "PATH_PARAM_PARSE_ERROR",
        ),
        (
            format!("{prefix}/{PROJECT}/privateEndpoint/aws/endpointService"),
            "PATH_PARAM_PARSE_ERROR",
        ),
        (
            format!("{prefix}/{PROJECT}/privateEndpoint/GCP/endpointService"),
            "VALIDATION_ERROR",
        ),
        (service_path(PROJECT, "not-an-id"), "PATH_PARAM_PARSE_ERROR"),
        (
            link_path(PROJECT, &service, "vpce-123"),
            "PATH_PARAM_PARSE_ERROR",
        ),
        (
            link_path(PROJECT, &service, "vpce-0123456789ABCDEF0"),
            "PATH_PARAM_PARSE_ERROR",
        ),
    ];
    for (path, code) in cases {
        let (status, body) = status_and_body(api.get(&path).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["errorCode"], code, "{path}");
    }
}

#[tokio::test]
async fn link_body_validation() {
    let api = Api::start(digest_config()).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    let path = links_path(PROJECT, &service);

    for body in [json!({}), json!({"id": "vpce-1"}), json!({"id": 5})] {
        let response = api.send(Method::POST, &path, Some(&body)).await;
        let (status, error) = status_and_body(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["errorCode"], "VALIDATION_ERROR", "{body}");
    }

    let text = api
        .request(Method::POST, &path)
        .header(
            reqwest::header::AUTHORIZATION,
            api.digest_header(&Method::POST, &path),
        )
        .header(CONTENT_TYPE, "text/plain")
        .body(format!(r#"{{"id":"{VPCE}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let versioned = api
        .request(Method::POST, &path)
        .header(
            reqwest::header::AUTHORIZATION,
            api.digest_header(&Method::POST, &path),
        )
        .header(CONTENT_TYPE, ATLAS_MEDIA_TYPE)
        .body(format!(r#"{{"id":"{VPCE}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(versioned.status(), StatusCode::OK);
    assert_eq!(api.sim.links(PROJECT, &service).len(), 1);
}

#[tokio::test]
async fn unknown_route_is_atlas_404() {
    let api = Api::start(digest_config()).await;

    let response = api.get("/api/atlas/v2/nothing").await;

    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errorCode"], "RESOURCE_NOT_FOUND");
}
