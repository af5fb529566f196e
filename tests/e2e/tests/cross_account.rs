//! Endpoints in another account, end to end: the function reads EC2 there through a role it
//! assumes with moto's STS, and moto serves the assumed credentials in the role's account as AWS
//! does. The endpoints are created in that account of moto, so the function's own credentials
//! cannot read them.

use e2e::{
    OTHER_ACCOUNT, REGION, SAMPLE_ENDPOINTS, SAMPLE_VPC, Sandbox, invoke_err, invoke_ok,
    scheduled_event,
};
use harness::runtime::FUNCTION_ACCOUNT_ID;
use harness::{Ec2Fixtures, FunctionProcess};
use serde_json::Value;

/// The account moto gives resources created with credentials it did not issue.
const MOTO_DEFAULT_ACCOUNT: &str = "123456789012";
const ROLE_NAME: &str = "platform/atlas-privatelink-linker-read";
const LINKED_TAG: &str = "atlas-privatelink-linker:linked";
/// The log line the function writes when it first reads EC2 through the role in an account.
const ASSUMING: &str = "reading EC2 in another account through an assumed role";

/// Loads a sample event as if `account` made the call, with the sandbox's ids.
fn event_from(name: &str, account: &str, vpc_id: &str, vpce: &str) -> Value {
    let event = harness::events::load_event(name).expect("sample event loads");
    harness::events::rewrite_ids(
        &event,
        [
            (FUNCTION_ACCOUNT_ID, account),
            (SAMPLE_VPC, vpc_id),
            (SAMPLE_ENDPOINTS[0], vpce),
        ],
    )
}

async fn tag_keys(sandbox: &Sandbox, account: &str, vpce: &str) -> Vec<String> {
    sandbox
        .moto
        .account(account)
        .tag_keys(REGION, vpce)
        .await
        .expect("endpoint described")
}

fn logged(function: &FunctionProcess, text: &str) -> bool {
    function.logs().iter().any(|line| line.contains(text))
}

#[tokio::test]
async fn links_and_unlinks_through_the_role() {
    let sandbox = Sandbox::start().await;
    let (vpc_id, vpce) = sandbox.create_endpoint_in(OTHER_ACCOUNT).await;
    let env = sandbox.env_with(&[("CROSS_ACCOUNT_ROLE_NAME", ROLE_NAME)]);
    let function = sandbox.function(&env).await;

    let create = event_from("create-interface-one-subnet", OTHER_ACCOUNT, &vpc_id, &vpce);
    let result = invoke_ok(&function, &create).await;

    let linked = &result["endpoints"][0];
    assert_eq!(linked["action"], "linked", "{result}");
    assert_eq!(linked["ec2State"], "available");
    assert_eq!(linked["atlasStatus"], "AVAILABLE");
    assert_eq!(linked["verdict"], "inSync");
    assert!(
        tag_keys(&sandbox, OTHER_ACCOUNT, &vpce)
            .await
            .contains(&LINKED_TAG.to_owned()),
        "the linked tag is set in the endpoint's account"
    );
    let role_arn = format!("arn:aws:iam::{OTHER_ACCOUNT}:role/{ROLE_NAME}");
    assert!(logged(&function, &role_arn), "the log names the role");

    sandbox
        .moto
        .account(OTHER_ACCOUNT)
        .delete_endpoints(REGION, std::slice::from_ref(&vpce))
        .await
        .expect("endpoint deleted");
    let delete = event_from("delete-one", OTHER_ACCOUNT, &vpc_id, &vpce);
    let result = invoke_ok(&function, &delete).await;

    let unlinked = &result["endpoints"][0];
    assert_eq!(unlinked["action"], "unlinked", "{result}");
    assert_eq!(unlinked["ec2State"], "deleted");
    assert_eq!(unlinked["verdict"], "inSync");
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn missing_role_is_configuration_error() {
    let sandbox = Sandbox::start().await;
    let (vpc_id, vpce) = sandbox.create_endpoint_in(OTHER_ACCOUNT).await;
    let function = sandbox.function(&sandbox.env()).await;

    let create = event_from("create-interface-one-subnet", OTHER_ACCOUNT, &vpc_id, &vpce);
    let (error_type, message) = invoke_err(&function, &create).await;

    assert_eq!(error_type, "Configuration");
    assert!(message.contains("CROSS_ACCOUNT_ROLE_NAME"), "{message}");
    assert!(message.contains(OTHER_ACCOUNT), "{message}");
    assert!(sandbox.linked().await.is_empty());
    assert_eq!(sandbox.atlas_requests("POST", "/endpoint/"), 0);
}

#[tokio::test]
async fn account_outside_allow_list_is_never_assumed() {
    let sandbox = Sandbox::start().await;
    let (vpc_id, vpce) = sandbox.create_endpoint_in(OTHER_ACCOUNT).await;
    let env = sandbox.env_with(&[
        ("CROSS_ACCOUNT_ROLE_NAME", ROLE_NAME),
        ("ALLOWED_ACCOUNT_IDS", FUNCTION_ACCOUNT_ID),
    ]);
    let function = sandbox.function(&env).await;

    let create = event_from("create-interface-one-subnet", OTHER_ACCOUNT, &vpc_id, &vpce);
    let result = invoke_ok(&function, &create).await;

    assert_eq!(result["outcome"], "ignored");
    let reason = result["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("account 444455556666 is not in ALLOWED_ACCOUNT_IDS"),
        "{result}"
    );
    assert!(!logged(&function, ASSUMING), "no role was assumed");
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn sweep_finds_endpoints_in_allowed_accounts() {
    let sandbox = Sandbox::start().await;
    let (_, vpce) = sandbox.create_endpoint_in(OTHER_ACCOUNT).await;
    let scheduled = scheduled_event();

    // Without the role, the sweep reads only the function's own account.
    let allowed = format!("{FUNCTION_ACCOUNT_ID},{OTHER_ACCOUNT}");
    let own_only = sandbox.env_with(&[("ALLOWED_ACCOUNT_IDS", &allowed)]);
    let function = sandbox.reconcile_function(&own_only).await;
    let result = invoke_ok(&function, &scheduled).await;
    assert_eq!(
        result["endpoints"].as_array().map(Vec::len),
        Some(0),
        "{result}"
    );
    drop(function);

    let env = sandbox.env_with(&[
        ("CROSS_ACCOUNT_ROLE_NAME", ROLE_NAME),
        ("ALLOWED_ACCOUNT_IDS", &allowed),
    ]);
    let function = sandbox.reconcile_function(&env).await;
    let result = invoke_ok(&function, &scheduled).await;

    let healed = &result["endpoints"][0];
    assert_eq!(healed["vpcEndpointId"], vpce.as_str(), "{result}");
    assert_eq!(healed["action"], "linked");
    assert_eq!(result["summary"]["linked"], 1);
    assert_eq!(sandbox.linked().await.len(), 1);
    assert!(
        tag_keys(&sandbox, OTHER_ACCOUNT, &vpce)
            .await
            .contains(&LINKED_TAG.to_owned())
    );
}

#[tokio::test]
async fn unreachable_sts_fails_naming_the_role() {
    let sandbox = Sandbox::start().await;
    let (vpc_id, vpce) = sandbox.create_endpoint_in(OTHER_ACCOUNT).await;
    // Nothing listens on port 9 of the loopback address, so every AssumeRole call fails to
    // connect while EC2 and Secrets Manager still reach moto.
    let env = sandbox.env_with(&[
        ("CROSS_ACCOUNT_ROLE_NAME", ROLE_NAME),
        ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9"),
    ]);
    let function = sandbox.function(&env).await;

    let create = event_from("create-interface-one-subnet", OTHER_ACCOUNT, &vpc_id, &vpce);
    let (error_type, message) = invoke_err(&function, &create).await;

    assert_eq!(error_type, "Retryable", "{message}");
    assert!(message.contains("loading credentials"), "{message}");
    let role_arn = format!("arn:aws:iam::{OTHER_ACCOUNT}:role/{ROLE_NAME}");
    assert!(
        message.contains(&format!("assuming {role_arn} failed")),
        "{message}"
    );
    assert!(
        !message.contains("trust policy"),
        "an outage is not a trust problem: {message}"
    );
    assert!(sandbox.linked().await.is_empty());
    assert_eq!(sandbox.atlas_requests("POST", "/endpoint/"), 0);
}

#[tokio::test]
async fn sweep_goes_on_without_unreadable_account() {
    let sandbox = Sandbox::start().await;
    sandbox.create_endpoint_in(OTHER_ACCOUNT).await;
    let own = sandbox.create_endpoint(1).await;
    let scheduled = scheduled_event();
    // moto owns the function's own endpoints with its default account id, which the allow-list
    // has to name for the sweep to link them.
    let allowed = format!("{FUNCTION_ACCOUNT_ID},{MOTO_DEFAULT_ACCOUNT},{OTHER_ACCOUNT}");
    let env = sandbox.env_with(&[
        ("CROSS_ACCOUNT_ROLE_NAME", ROLE_NAME),
        ("ALLOWED_ACCOUNT_IDS", &allowed),
        ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9"),
    ]);
    let function = sandbox.reconcile_function(&env).await;

    let (error_type, message) = invoke_err(&function, &scheduled).await;

    assert_eq!(error_type, "Retryable", "{message}");
    // moto's default account is read through the role as well, and fails the same way.
    let not_swept = format!("accounts not swept: {MOTO_DEFAULT_ACCOUNT}, {OTHER_ACCOUNT}");
    assert!(message.contains(&not_swept), "{message}");
    let linked = sandbox.linked().await;
    assert_eq!(linked.len(), 1, "the own account's endpoint is linked");
    assert_eq!(linked[0].0, own);
}

/// Starts a stand-in for STS on 127.0.0.1 that denies every AssumeRole call as AWS does when the
/// role's trust policy does not name the caller, and returns its URL.
async fn start_denying_sts() -> String {
    async fn deny() -> impl axum::response::IntoResponse {
        let body = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:sts::111122223333:assumed-role/linker/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/platform/atlas-privatelink-linker-read</Message>
  </Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>"#;
        (
            axum::http::StatusCode::FORBIDDEN,
            [("content-type", "text/xml")],
            body,
        )
    }
    let app = axum::Router::new().route("/", axum::routing::post(deny));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port bound");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn denied_role_is_configuration_error() {
    let sandbox = Sandbox::start().await;
    let (vpc_id, vpce) = sandbox.create_endpoint_in(OTHER_ACCOUNT).await;
    let sts = start_denying_sts().await;
    let env = sandbox.env_with(&[
        ("CROSS_ACCOUNT_ROLE_NAME", ROLE_NAME),
        ("AWS_ENDPOINT_URL_STS", &sts),
    ]);
    let function = sandbox.function(&env).await;

    let create = event_from("create-interface-one-subnet", OTHER_ACCOUNT, &vpc_id, &vpce);
    let (error_type, message) = invoke_err(&function, &create).await;

    assert_eq!(error_type, "Configuration", "{message}");
    assert!(message.contains("STS denied AssumeRole"), "{message}");
    assert!(message.contains("trust policy"), "{message}");
    assert!(sandbox.linked().await.is_empty());
}

#[tokio::test]
async fn delete_naming_wrong_account_keeps_link() {
    let sandbox = Sandbox::start().await;
    let (vpc_id, vpce) = sandbox.create_endpoint_in(OTHER_ACCOUNT).await;
    let allowed = format!("{FUNCTION_ACCOUNT_ID},{MOTO_DEFAULT_ACCOUNT},{OTHER_ACCOUNT}");
    let env = sandbox.env_with(&[
        ("CROSS_ACCOUNT_ROLE_NAME", ROLE_NAME),
        ("ALLOWED_ACCOUNT_IDS", &allowed),
    ]);
    let function = sandbox.function(&env).await;
    let create = event_from("create-interface-one-subnet", OTHER_ACCOUNT, &vpc_id, &vpce);
    invoke_ok(&function, &create).await;

    // The endpoint is still alive in its account, and the event names the function's own.
    let delete = event_from("delete-one", FUNCTION_ACCOUNT_ID, &vpc_id, &vpce);
    let result = invoke_ok(&function, &delete).await;

    let kept = &result["endpoints"][0];
    assert_eq!(kept["action"], "ignored", "{result}");
    let detail = kept["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("of account 444455556666"), "{detail}");
    assert_eq!(sandbox.atlas_requests("DELETE", "/endpoint/"), 0);
    assert_eq!(sandbox.linked().await, vec![(vpce, "AVAILABLE".to_owned())]);
}
