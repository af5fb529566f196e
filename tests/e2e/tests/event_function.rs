//! The event function end to end: the compiled binary through the Lambda Runtime API, against
//! moto and the Atlas simulator, one test per sample event plus replays, credentials from
//! Secrets Manager and configuration errors.

use e2e::{OTHER_REGION, PROJECT_ID, REGION, Sandbox, invoke_err, invoke_ok};
use harness::Ec2Fixtures;
use serde_json::{Value, json};

fn endpoint(result: &Value, index: usize) -> &Value {
    &result["endpoints"][index]
}

#[tokio::test]
async fn create_one_subnet_links() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(
        &function,
        &sandbox.event("create-interface-one-subnet", &[&vpce]),
    )
    .await;

    assert_eq!(result["outcome"], "processed");
    let linked = endpoint(&result, 0);
    assert_eq!(linked["vpcEndpointId"], vpce.as_str());
    assert_eq!(linked["action"], "linked");
    assert_eq!(linked["projectId"], PROJECT_ID);
    assert_eq!(linked["endpointServiceId"], sandbox.service_id.as_str());
    assert_eq!(linked["ec2State"], "available");
    assert_eq!(linked["atlasStatus"], "AVAILABLE");
    assert_eq!(linked["verdict"], "inSync");
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
}

#[tokio::test]
async fn create_in_other_region_links() {
    let sandbox = Sandbox::start().await;
    let (vpc_id, vpce) = sandbox.create_endpoint_in_region(OTHER_REGION).await;
    let function = sandbox.function(&sandbox.env()).await;
    let mut event = harness::events::rewrite_ids(
        &sandbox.event("create-interface-one-subnet", &[&vpce]),
        [(sandbox.vpc_id.as_str(), vpc_id.as_str())],
    );
    // CloudTrail records the call in the endpoint's own region.
    event["region"] = OTHER_REGION.into();
    event["detail"]["awsRegion"] = OTHER_REGION.into();

    let result = invoke_ok(&function, &event).await;

    let linked = endpoint(&result, 0);
    assert_eq!(linked["action"], "linked", "{result}");
    assert_eq!(linked["atlasStatus"], "AVAILABLE");
    assert_eq!(linked["verdict"], "inSync");
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
}

#[tokio::test]
async fn create_several_subnets_links() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(3).await;
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(
        &function,
        &sandbox.event("create-interface-several-subnets", &["", &vpce]),
    )
    .await;

    assert_eq!(endpoint(&result, 0)["action"], "linked");
    assert_eq!(endpoint(&result, 0)["verdict"], "inSync");
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
}

#[tokio::test]
async fn create_gateway_ignored() {
    let sandbox = Sandbox::start().await;
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(&function, &sandbox.event("create-gateway", &[])).await;

    assert_eq!(result["outcome"], "ignored");
    assert!(
        result["reason"].as_str().unwrap().contains("Gateway"),
        "{result}"
    );
    assert!(sandbox.linked().await.is_empty());
    assert!(
        sandbox.sim.requests().is_empty(),
        "no Atlas request for a Gateway endpoint"
    );
}

#[tokio::test]
async fn create_failed_ignored() {
    let sandbox = Sandbox::start().await;
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(&function, &sandbox.event("create-failed", &[])).await;

    assert_eq!(result["outcome"], "ignored");
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("Client.UnauthorizedOperation")
    );
    assert!(sandbox.sim.requests().is_empty());
}

#[tokio::test]
async fn delete_one_unlinks() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(&sandbox.env()).await;
    invoke_ok(
        &function,
        &sandbox.event("create-interface-one-subnet", &[&vpce]),
    )
    .await;
    sandbox
        .moto
        .delete_endpoints(REGION, std::slice::from_ref(&vpce))
        .await
        .unwrap();

    let result = invoke_ok(&function, &sandbox.event("delete-one", &[&vpce])).await;

    let unlinked = endpoint(&result, 0);
    assert_eq!(unlinked["action"], "unlinked");
    assert_eq!(unlinked["ec2State"], "deleted");
    assert_eq!(unlinked["atlasStatus"], "NOT_LINKED");
    assert_eq!(unlinked["verdict"], "inSync");
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn delete_naming_wrong_region_keeps_link() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(&sandbox.env()).await;
    invoke_ok(
        &function,
        &sandbox.event("create-interface-one-subnet", &[&vpce]),
    )
    .await;

    // The endpoint is alive in us-east-1, and the event reports it deleted in us-west-2.
    let mut delete = sandbox.event("delete-one", &[&vpce]);
    delete["region"] = "us-west-2".into();
    delete["detail"]["awsRegion"] = "us-west-2".into();
    let result = invoke_ok(&function, &delete).await;

    let kept = endpoint(&result, 0);
    assert_eq!(kept["action"], "ignored", "{result}");
    let detail = kept["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("lists it as available in us-east-1"),
        "{detail}"
    );
    assert_eq!(sandbox.atlas_requests("DELETE", "/endpoint/"), 0);
    assert_eq!(sandbox.linked().await.len(), 1);
}

#[tokio::test]
async fn delete_several_unlinks() {
    let sandbox = Sandbox::start().await;
    let first = sandbox.create_endpoint(1).await;
    let second = sandbox.create_endpoint(2).await;
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &first,
        atlas_sim::ConnectionStatus::Available,
    );
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &second,
        atlas_sim::ConnectionStatus::Available,
    );
    sandbox
        .moto
        .delete_endpoints(REGION, &[first.clone(), second.clone()])
        .await
        .unwrap();
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(
        &function,
        &sandbox.event("delete-several", &[&first, &second]),
    )
    .await;

    assert_eq!(endpoint(&result, 0)["action"], "unlinked");
    assert_eq!(endpoint(&result, 1)["action"], "unlinked");
    assert!(sandbox.linked().await.is_empty());
    assert_eq!(sandbox.atlas_requests("DELETE", "/endpoint/vpce-"), 2);
}

#[tokio::test]
async fn delete_partial_failure_keeps_failed_link() {
    let sandbox = Sandbox::start().await;
    let deleted = sandbox.create_endpoint(1).await;
    let kept = sandbox.create_endpoint(2).await;
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &deleted,
        atlas_sim::ConnectionStatus::Available,
    );
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &kept,
        atlas_sim::ConnectionStatus::Available,
    );
    sandbox
        .moto
        .delete_endpoints(REGION, std::slice::from_ref(&deleted))
        .await
        .unwrap();
    let function = sandbox.function(&sandbox.env()).await;
    let mut event = sandbox.event("delete-partial-failure", &[&deleted]);
    event = harness::events::rewrite_ids(&event, [("vpce-0d4e5f60718293a4b", kept.as_str())]);

    let result = invoke_ok(&function, &event).await;

    let failed = endpoint(&result, 0);
    assert_eq!(failed["vpcEndpointId"], kept.as_str());
    assert_eq!(failed["action"], "deleteFailed");
    assert_eq!(endpoint(&result, 1)["action"], "unlinked");
    assert_eq!(sandbox.linked().await, vec![(kept, "AVAILABLE".to_owned())]);
}

#[tokio::test]
async fn replayed_create_links_once() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let function = sandbox.function(&sandbox.env()).await;
    let event = sandbox.event("create-interface-one-subnet", &[&vpce]);

    invoke_ok(&function, &event).await;
    let replay = invoke_ok(&function, &event).await;
    let fresh_container = sandbox.function(&sandbox.env()).await;
    let replay_elsewhere = invoke_ok(&fresh_container, &event).await;

    assert_eq!(endpoint(&replay, 0)["action"], "alreadyLinked");
    assert_eq!(endpoint(&replay_elsewhere, 0)["action"], "alreadyLinked");
    assert_eq!(endpoint(&replay_elsewhere, 0)["verdict"], "inSync");
    assert_eq!(sandbox.atlas_requests("POST", "/endpoint"), 1);
    assert_eq!(sandbox.linked().await.len(), 1);
}

#[tokio::test]
async fn replayed_delete_succeeds() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &vpce,
        atlas_sim::ConnectionStatus::Available,
    );
    sandbox
        .moto
        .delete_endpoints(REGION, std::slice::from_ref(&vpce))
        .await
        .unwrap();
    let function = sandbox.function(&sandbox.env()).await;
    let event = sandbox.event("delete-one", &[&vpce]);

    invoke_ok(&function, &event).await;
    let replay = invoke_ok(&function, &event).await;

    assert_eq!(endpoint(&replay, 0)["action"], "notLinked");
    assert_eq!(endpoint(&replay, 0)["verdict"], "inSync");
}

#[tokio::test]
async fn service_account_from_secrets_manager() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let secret = json!({"client_id": e2e::CLIENT_ID, "client_secret": e2e::CLIENT_SECRET});
    sandbox
        .moto
        .create_secret(REGION, "atlas/linker", &secret)
        .await
        .unwrap();
    let mut env: Vec<(String, String)> = sandbox
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("MONGODB_ATLAS_P"))
        .collect();
    env.push(("ATLAS_CREDENTIALS_SECRET".into(), "atlas/linker".into()));
    let function = sandbox.function(&env).await;

    let first = sandbox.create_endpoint(2).await;
    invoke_ok(
        &function,
        &sandbox.event("create-interface-one-subnet", &[&vpce]),
    )
    .await;
    let result = invoke_ok(
        &function,
        &sandbox.event("create-interface-one-subnet", &[&first]),
    )
    .await;

    assert_eq!(endpoint(&result, 0)["action"], "linked");
    assert_eq!(
        sandbox.sim.token_requests(),
        1,
        "one token serves the container"
    );
    assert_eq!(sandbox.linked().await.len(), 2);
}

#[tokio::test]
async fn endpoint_unknown_to_ec2_not_linked() {
    let sandbox = Sandbox::start().await;
    let function = sandbox.function(&sandbox.env()).await;

    let result = invoke_ok(
        &function,
        &sandbox.event("create-interface-one-subnet", &["vpce-0fffffffffffffff1"]),
    )
    .await;

    assert_eq!(result["outcome"], "ignored");
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("EC2 does not list"),
        "{result}"
    );
    assert_eq!(sandbox.atlas_requests("POST", "/endpoint"), 0);
}

#[tokio::test]
async fn invalid_event_is_an_error() {
    let sandbox = Sandbox::start().await;
    let function = sandbox.function(&sandbox.env()).await;

    let (error_type, message) = invoke_err(
        &function,
        &json!({"source": "aws.ec2", "detail-type": "AWS API Call via CloudTrail"}),
    )
    .await;

    assert_eq!(error_type, "InvalidEvent");
    assert!(message.contains("detail is missing"), "{message}");
}

#[tokio::test]
async fn wrong_api_key_is_configuration_error() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let env: Vec<(String, String)> = sandbox
        .env()
        .into_iter()
        .map(|(k, v)| {
            if k == "MONGODB_ATLAS_PRIVATE_API_KEY" {
                (k, "wrong".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let function = sandbox.function(&env).await;

    let (error_type, message) = invoke_err(
        &function,
        &sandbox.event("create-interface-one-subnet", &[&vpce]),
    )
    .await;

    assert_eq!(error_type, "Configuration");
    assert!(message.contains("401"), "{message}");
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn missing_setting_stops_at_start() {
    let sandbox = Sandbox::start().await;
    let env: Vec<(String, String)> = sandbox
        .env()
        .into_iter()
        .filter(|(k, _)| k != "ATLAS_PROJECT_IDS")
        .collect();
    let function = sandbox.function(&env).await;

    let outcome = function
        .invoke(
            &sandbox.event("create-failed", &[]),
            std::time::Duration::from_secs(20),
        )
        .await;

    let error = outcome.expect_err("the function cannot start").to_string();
    assert!(error.contains("ATLAS_PROJECT_IDS is missing"), "{error}");
}
