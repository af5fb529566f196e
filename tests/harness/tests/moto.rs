//! moto fixture tests. Each test starts its own `moto_server`, so they fail,
//! with install instructions, when moto is missing.

use std::time::Duration;

use harness::error::MOTO_INSTALL_HINT;
use harness::{Ec2Fixtures, FunctionProcess, HarnessError, Invocation, Moto, workspace};
use serde_json::json;

const REGION: &str = "us-east-1";
const SERVICE_NAME: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";

async fn start_moto() -> Moto {
    Moto::start().await.unwrap_or_else(|e| panic!("{e}"))
}

fn ok<T>(result: Result<T, HarnessError>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn interface_endpoint_lifecycle() {
    let moto = start_moto().await;
    let (vpc_id, subnet_ids) = ok(moto.create_vpc_with_subnets(REGION, 2).await);
    assert!(vpc_id.starts_with("vpc-"), "{vpc_id}");
    assert_eq!(subnet_ids.len(), 2);
    assert!(
        subnet_ids.iter().all(|s| s.starts_with("subnet-")),
        "{subnet_ids:?}"
    );

    let endpoint_id = ok(moto
        .create_interface_endpoint(REGION, &vpc_id, &subnet_ids, SERVICE_NAME)
        .await);
    assert!(endpoint_id.starts_with("vpce-"), "{endpoint_id}");
    let state = ok(moto.describe_state(REGION, &endpoint_id).await);
    assert_eq!(state.as_deref(), Some("available"));

    let described = moto
        .ec2_client(REGION)
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&endpoint_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeVpcEndpoints failed: {e:?}"));
    let endpoint = &described.vpc_endpoints()[0];
    assert_eq!(endpoint.vpc_id(), Some(vpc_id.as_str()));
    assert_eq!(endpoint.service_name(), Some(SERVICE_NAME));
    assert_eq!(endpoint.subnet_ids(), subnet_ids.as_slice());

    ok(moto
        .delete_endpoints(REGION, std::slice::from_ref(&endpoint_id))
        .await);
    let state = ok(moto.describe_state(REGION, &endpoint_id).await);
    assert_eq!(state.as_deref(), Some("deleted"));
}

#[tokio::test]
async fn accounts_keep_their_endpoints_apart() {
    let moto = start_moto().await;
    let other = moto.account("444455556666");
    let (vpc_id, subnet_ids) = ok(other.create_vpc_with_subnets(REGION, 1).await);
    let endpoint_id = ok(other
        .create_interface_endpoint(REGION, &vpc_id, &subnet_ids, SERVICE_NAME)
        .await);

    let state = ok(other.describe_state(REGION, &endpoint_id).await);
    assert_eq!(state.as_deref(), Some("available"));
    let described = other
        .ec2_client(REGION)
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&endpoint_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeVpcEndpoints failed: {e:?}"));
    assert_eq!(
        described.vpc_endpoints()[0].owner_id(),
        Some("444455556666")
    );
    let from_default = ok(moto.describe_state(REGION, &endpoint_id).await);
    assert_eq!(from_default, None, "the default account does not see it");
}

#[tokio::test]
async fn unknown_endpoint_state() {
    let moto = start_moto().await;
    let state = ok(moto.describe_state(REGION, "vpce-0000000000000000a").await);
    assert_eq!(state, None);
}

#[tokio::test]
async fn gateway_endpoint_created() {
    let moto = start_moto().await;
    let (vpc_id, _) = ok(moto.create_vpc_with_subnets(REGION, 0).await);
    let endpoint_id = ok(moto
        .create_gateway_endpoint(REGION, &vpc_id, "com.amazonaws.us-east-1.s3")
        .await);
    let state = ok(moto.describe_state(REGION, &endpoint_id).await);
    assert_eq!(state.as_deref(), Some("available"));
}

#[tokio::test]
async fn regions_are_isolated() {
    let moto = start_moto().await;
    let (vpc_id, subnet_ids) = ok(moto.create_vpc_with_subnets("eu-west-1", 3).await);
    assert_eq!(subnet_ids.len(), 3);
    let endpoint_id = ok(moto
        .create_interface_endpoint("eu-west-1", &vpc_id, &subnet_ids, SERVICE_NAME)
        .await);

    let elsewhere = ok(moto.describe_state(REGION, &endpoint_id).await);
    assert_eq!(elsewhere, None);
    let here = ok(moto.describe_state("eu-west-1", &endpoint_id).await);
    assert_eq!(here.as_deref(), Some("available"));
}

#[tokio::test]
async fn secret_round_trip() {
    let moto = start_moto().await;
    let value = json!({ "publicKey": "pub", "privateKey": "priv" });
    let arn = ok(moto.create_secret(REGION, "atlas/api-key", &value).await);
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:"),
        "{arn}"
    );
    assert!(arn.contains("atlas/api-key"), "{arn}");

    let stored = moto
        .secrets_client(REGION)
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetSecretValue failed: {e:?}"));
    let stored: serde_json::Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(stored, value);
}

#[tokio::test]
async fn reset_clears_state() {
    let moto = start_moto().await;
    let (vpc_id, subnet_ids) = ok(moto.create_vpc_with_subnets(REGION, 1).await);
    let endpoint_id = ok(moto
        .create_interface_endpoint(REGION, &vpc_id, &subnet_ids, SERVICE_NAME)
        .await);

    ok(moto.reset().await);
    let state = ok(moto.describe_state(REGION, &endpoint_id).await);
    assert_eq!(state, None);
}

#[tokio::test]
async fn too_many_subnets_rejected() {
    let moto = start_moto().await;
    let error = moto.create_vpc_with_subnets(REGION, 257).await.unwrap_err();
    assert!(error.to_string().contains("at most 256"), "{error}");
}

#[tokio::test]
async fn function_reaches_moto() {
    let moto = start_moto().await;
    let binary = workspace::built_binary("echo-function").unwrap_or_else(|e| panic!("{e}"));
    let process = ok(FunctionProcess::spawn(&binary, &moto.function_env("eu-west-1")).await);

    let invocation = ok(process.invoke(&json!({}), Duration::from_secs(30)).await);
    let Invocation::Ok(response) = invocation else {
        panic!("expected a response, got {invocation:?}");
    };
    assert_eq!(response["env"]["AWS_ENDPOINT_URL"], moto.endpoint_url());
    assert_eq!(response["env"]["AWS_REGION"], "eu-west-1");
}

#[tokio::test]
async fn server_logs_requests() {
    let moto = start_moto().await;
    ok(moto.create_vpc_with_subnets(REGION, 0).await);
    let logs = moto.logs();
    assert!(logs.iter().any(|l| l.contains("POST /")), "{logs:#?}");
}

#[test]
fn missing_moto_explains_install() {
    let error = HarnessError::MotoNotFound {
        tried: vec!["/work/.venv/bin/moto_server".into()],
    };
    let message = error.to_string();
    assert!(message.contains(MOTO_INSTALL_HINT), "{message}");
    assert!(message.contains("pip install 'moto[server]'"), "{message}");
}
