//! The reconcile function end to end: the compiled binary through the Lambda Runtime API,
//! against moto and the Atlas simulator.

use atlas_sim::ConnectionStatus;
use e2e::{OTHER_REGION, PROJECT_ID, REGION, Sandbox, invoke_ok, scheduled_event};
use harness::{Ec2Fixtures, FunctionProcess};
use serde_json::Value;

const LINKED_TAG: &str = "atlas-privatelink-linker:linked";
const REPAIRED_TAG: &str = "atlas-privatelink-linker:repaired";

async fn reconcile_function(sandbox: &Sandbox, extra: &[(&str, &str)]) -> FunctionProcess {
    sandbox.reconcile_function(&sandbox.env_with(extra)).await
}

fn entry<'a>(result: &'a Value, vpce: &str) -> &'a Value {
    result["endpoints"]
        .as_array()
        .expect("endpoints is an array")
        .iter()
        .find(|e| e["vpcEndpointId"] == vpce)
        .unwrap_or_else(|| panic!("{vpce} missing from {result}"))
}

async fn tag(sandbox: &Sandbox, vpce: &str, key: &str) {
    sandbox
        .moto
        .ec2_client(REGION)
        .create_tags()
        .resources(vpce)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(key)
                .value("earlier")
                .build(),
        )
        .send()
        .await
        .expect("tag created");
}

async fn tags(sandbox: &Sandbox, vpce: &str) -> Vec<String> {
    sandbox
        .moto
        .tag_keys(REGION, vpce)
        .await
        .expect("endpoint described")
}

#[tokio::test]
async fn sweep_links_missed_endpoint() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    let function = reconcile_function(&sandbox, &[]).await;

    let result = invoke_ok(&function, &scheduled_event()).await;

    let healed = entry(&result, &vpce);
    assert_eq!(healed["action"], "linked");
    assert_eq!(healed["managed"], true);
    assert_eq!(result["summary"]["linked"], 1);
    assert_eq!(sandbox.linked().await.len(), 1);
    assert!(tags(&sandbox, &vpce).await.contains(&LINKED_TAG.to_owned()));
}

#[tokio::test]
async fn sweep_searches_reconcile_regions() {
    let sandbox = Sandbox::start().await;
    let (_, vpce) = sandbox.create_endpoint_in_region(OTHER_REGION).await;

    let function = reconcile_function(&sandbox, &[]).await;
    let result = invoke_ok(&function, &scheduled_event()).await;
    assert_eq!(result["summary"]["linked"], 0, "{result}");
    drop(function);

    let function = reconcile_function(&sandbox, &[("RECONCILE_REGIONS", OTHER_REGION)]).await;
    let result = invoke_ok(&function, &scheduled_event()).await;

    let healed = entry(&result, &vpce);
    assert_eq!(healed["action"], "linked");
    assert_eq!(result["summary"]["linked"], 1);
    let linked = sandbox.linked().await;
    assert_eq!(linked, vec![(vpce, "AVAILABLE".to_owned())]);
}

#[tokio::test]
async fn sweep_unlinks_orphaned_link() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    tag(&sandbox, &vpce, LINKED_TAG).await;
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &vpce,
        ConnectionStatus::Available,
    );
    sandbox
        .moto
        .delete_endpoints(REGION, std::slice::from_ref(&vpce))
        .await
        .unwrap();
    let function = reconcile_function(&sandbox, &[]).await;

    let result = invoke_ok(&function, &scheduled_event()).await;

    assert_eq!(entry(&result, &vpce)["action"], "unlinked");
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn sweep_leaves_foreign_endpoint() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &vpce,
        ConnectionStatus::Available,
    );
    sandbox
        .moto
        .delete_endpoints(REGION, std::slice::from_ref(&vpce))
        .await
        .unwrap();
    let function = reconcile_function(&sandbox, &[]).await;

    let result = invoke_ok(&function, &scheduled_event()).await;

    let foreign = entry(&result, &vpce);
    assert_eq!(foreign["action"], "unmanaged");
    assert_eq!(foreign["managed"], false);
    assert_eq!(foreign["verdict"], "mismatch");
    assert_eq!(sandbox.atlas_requests("DELETE", "/endpoint/"), 0);
    assert_eq!(sandbox.linked().await.len(), 1);
}

#[tokio::test]
async fn sweep_reports_mismatch_age() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &vpce,
        ConnectionStatus::Rejected,
    );
    let function = reconcile_function(&sandbox, &[("MISMATCH_AGE_LIMIT_MINUTES", "1")]).await;

    let result = invoke_ok(&function, &scheduled_event()).await;

    let rejected = entry(&result, &vpce);
    assert_eq!(rejected["action"], "unmanaged");
    assert_eq!(rejected["verdict"], "mismatch");
    assert!(rejected["ageSeconds"].as_u64().is_some(), "{rejected}");
    assert_eq!(result["summary"]["mismatch"], 1);
}

#[tokio::test]
async fn sweep_repairs_rejected_link_once() {
    let sandbox = Sandbox::start().await;
    let vpce = sandbox.create_endpoint(1).await;
    tag(&sandbox, &vpce, LINKED_TAG).await;
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &vpce,
        ConnectionStatus::Rejected,
    );
    let function = reconcile_function(&sandbox, &[]).await;

    let first = invoke_ok(&function, &scheduled_event()).await;
    assert_eq!(entry(&first, &vpce)["action"], "repaired");
    assert!(
        tags(&sandbox, &vpce)
            .await
            .contains(&REPAIRED_TAG.to_owned())
    );
    assert_eq!(
        sandbox.linked().await,
        vec![(vpce.clone(), "AVAILABLE".to_owned())]
    );

    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &vpce,
        ConnectionStatus::Rejected,
    );
    let second = invoke_ok(&function, &scheduled_event()).await;

    let reported = entry(&second, &vpce);
    assert_eq!(reported["action"], "checked");
    assert_eq!(reported["verdict"], "mismatch");
    assert_eq!(
        sandbox.atlas_requests("DELETE", "/endpoint/"),
        1,
        "repaired only once"
    );
}

#[tokio::test]
async fn sweep_dry_run_changes_nothing() {
    let sandbox = Sandbox::start().await;
    let missed = sandbox.create_endpoint(1).await;
    let orphan = sandbox.create_endpoint(2).await;
    tag(&sandbox, &orphan, LINKED_TAG).await;
    sandbox.sim.link_directly(
        PROJECT_ID,
        &sandbox.service_id,
        &orphan,
        ConnectionStatus::Available,
    );
    sandbox
        .moto
        .delete_endpoints(REGION, std::slice::from_ref(&orphan))
        .await
        .unwrap();
    let before = sandbox.linked().await;
    sandbox.sim.clear_requests();
    let function = reconcile_function(&sandbox, &[("DRY_RUN", "true")]).await;

    let result = invoke_ok(&function, &scheduled_event()).await;

    assert_eq!(result["dryRun"], true);
    assert_eq!(entry(&result, &missed)["action"], "wouldLink");
    assert_eq!(entry(&result, &orphan)["action"], "wouldUnlink");
    assert_eq!(sandbox.linked().await, before);
    let writes = sandbox
        .sim
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(writes, 0, "a dry run sends no POST or DELETE");
    assert!(
        !tags(&sandbox, &missed)
            .await
            .contains(&LINKED_TAG.to_owned())
    );
}

#[tokio::test]
async fn sweep_ignores_other_services() {
    let sandbox = Sandbox::start().await;
    let other = sandbox
        .moto
        .create_interface_endpoint(
            REGION,
            &sandbox.vpc_id,
            &sandbox.subnets[..1],
            "com.amazonaws.vpce.us-east-1.vpce-svc-0ffffffffffffffff",
        )
        .await
        .unwrap();
    let function = reconcile_function(&sandbox, &[]).await;

    let result = invoke_ok(&function, &scheduled_event()).await;

    assert!(
        result["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["vpcEndpointId"] != other.as_str())
    );
    assert!(sandbox.linked().await.is_empty());
}
