//! Link acceptance decided by an EC2 lookup, against a stub EC2 query API
//! served on 127.0.0.1.

use std::sync::{Arc, Mutex};

use atlas_sim::{ConnectionStatus, SimConfig};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::response::IntoResponse;
use axum::routing::post;
use reqwest::StatusCode;

use crate::*;

/// Stub EC2 endpoint that reports `VPCE` as available, `OTHER_VPCE` as
/// deleted and any other id as not found. It records the form bodies it
/// receives.
#[derive(Clone, Default)]
struct StubEc2 {
    bodies: Arc<Mutex<Vec<String>>>,
}

async fn describe(State(stub): State<StubEc2>, body: String) -> impl IntoResponse {
    stub.bodies.lock().unwrap().push(body.clone());
    let wanted = format!("VpcEndpointId.1={VPCE}");
    let deleted = format!("VpcEndpointId.1={OTHER_VPCE}");
    let (status, xml) = if body.contains(&wanted) {
        (AxumStatus::OK, endpoint_xml(VPCE, "available"))
    } else if body.contains(&deleted) {
        (AxumStatus::OK, endpoint_xml(OTHER_VPCE, "deleted"))
    } else {
        (
            AxumStatus::BAD_REQUEST,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidVpcEndpointId.NotFound</Code><Message>The VpcEndpoint ID does not exist</Message></Error></Errors><RequestID>req-2</RequestID></Response>"#
                .to_owned(),
        )
    };
    (status, [("content-type", "text/xml")], xml)
}

fn endpoint_xml(vpce: &str, state: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeVpcEndpointsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>req-1</requestId>
  <vpcEndpointSet>
    <item>
      <vpcEndpointId>{vpce}</vpcEndpointId>
      <vpcEndpointType>Interface</vpcEndpointType>
      <serviceName>{SERVICE_NAME}</serviceName>
      <state>{state}</state>
    </item>
  </vpcEndpointSet>
</DescribeVpcEndpointsResponse>"#
    )
}

async fn start_stub() -> (StubEc2, String) {
    let stub = StubEc2::default();
    let app = Router::new()
        .route("/", post(describe))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (stub, url)
}

#[tokio::test]
async fn ec2_decides_acceptance() {
    let (stub, url) = start_stub().await;
    let config = SimConfig {
        ec2_endpoint: Some(url),
        ..digest_config()
    };
    let api = Api::start(config).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    let missing = "vpce-00000000000000000";
    for vpce in [VPCE, OTHER_VPCE, missing] {
        assert_eq!(api.post_link(&service, vpce).await.status(), StatusCode::OK);
    }

    let live = api.get_json(&link_path(PROJECT, &service, VPCE)).await;
    let deleted = api
        .get_json(&link_path(PROJECT, &service, OTHER_VPCE))
        .await;
    let absent = api.get_json(&link_path(PROJECT, &service, missing)).await;

    assert_eq!(live["connectionStatus"], "AVAILABLE");
    assert_eq!(live["errorMessage"], serde_json::Value::Null);
    assert_eq!(deleted["connectionStatus"], "REJECTED");
    assert!(deleted["errorMessage"].is_string());
    assert_eq!(absent["connectionStatus"], "REJECTED");
    assert!(
        absent["errorMessage"]
            .as_str()
            .unwrap()
            .contains("us-east-1")
    );

    let bodies = stub.bodies.lock().unwrap().clone();
    assert!(
        bodies
            .iter()
            .all(|b| b.contains("Action=DescribeVpcEndpoints"))
    );
    assert_eq!(bodies.len(), 3, "each link is looked up once");
}

#[tokio::test]
async fn ec2_checks_service_name() {
    let (_stub, url) = start_stub().await;
    let config = SimConfig {
        ec2_endpoint: Some(url),
        ..digest_config()
    };
    let api = Api::start(config).await;
    let other_name = "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210";
    let service = api.sim.add_endpoint_service(PROJECT, REGION, other_name);
    api.post_link(&service, VPCE).await;

    let links = api.sim.settled_links(PROJECT, &service).await;

    assert_eq!(links[0].connection_status, ConnectionStatus::Rejected);
    let message = links[0].error_message.as_deref().unwrap();
    assert!(message.contains(other_name), "{message}");
}

#[tokio::test]
async fn ec2_unreachable_keeps_pending() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = SimConfig {
        ec2_endpoint: Some(url),
        ..digest_config()
    };
    let api = Api::start(config).await;
    let service = api.sim.add_endpoint_service(PROJECT, REGION, SERVICE_NAME);
    api.post_link(&service, VPCE).await;

    let link = api.get_json(&link_path(PROJECT, &service, VPCE)).await;

    assert_eq!(link["connectionStatus"], "PENDING_ACCEPTANCE");
}
