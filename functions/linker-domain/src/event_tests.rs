//! Tests of the event reader on the sample events and on every shape CloudTrail gives EC2 lists.

use serde_json::{Value, json};

use super::*;

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("sample event is JSON")
}

fn id(text: &str) -> VpcEndpointId {
    VpcEndpointId::parse(text).expect("valid id")
}

const SERVICE: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8";

fn expect_link(event: &Value) -> CreatedEndpoint {
    match read_event(event) {
        Ok(Intent::Link(created)) => created,
        other => panic!("expected a link intent, got {other:?}"),
    }
}

fn expect_unlink(event: &Value) -> DeletedEndpoints {
    match read_event(event) {
        Ok(Intent::Unlink(deleted)) => deleted,
        other => panic!("expected an unlink intent, got {other:?}"),
    }
}

fn expect_ignore(event: &Value) -> String {
    match read_event(event) {
        Ok(Intent::Ignore(reason)) => reason,
        other => panic!("expected the event to be ignored, got {other:?}"),
    }
}

fn expect_invalid(event: &Value) -> String {
    match read_event(event) {
        Err(InvalidEvent(message)) => message,
        other => panic!("expected an invalid event, got {other:?}"),
    }
}

#[test]
fn create_one_subnet_sample() {
    let created = expect_link(&sample("create-interface-one-subnet.json"));
    assert_eq!(created.endpoint_id, id("vpce-0a1b2c3d4e5f60718"));
    assert_eq!(created.service_name.as_str(), SERVICE);
    assert_eq!(created.region.as_str(), "us-east-1");
    assert_eq!(created.vpc_id.as_deref(), Some("vpc-0123456789abcdef0"));
}

#[test]
fn create_several_subnets_sample() {
    let created = expect_link(&sample("create-interface-several-subnets.json"));
    assert_eq!(created.endpoint_id, id("vpce-0b2c3d4e5f6071829"));
}

#[test]
fn create_gateway_sample_ignored() {
    let reason = expect_ignore(&sample("create-gateway.json"));
    assert!(reason.contains("type Gateway"), "{reason}");
}

#[test]
fn create_failed_sample_ignored() {
    let reason = expect_ignore(&sample("create-failed.json"));
    assert!(reason.contains("Client.UnauthorizedOperation"), "{reason}");
}

#[test]
fn delete_one_sample() {
    let deleted = expect_unlink(&sample("delete-one.json"));
    assert_eq!(deleted.deleted, vec![id("vpce-0a1b2c3d4e5f60718")]);
    assert!(deleted.unsuccessful.is_empty());
}

#[test]
fn delete_several_sample() {
    let deleted = expect_unlink(&sample("delete-several.json"));
    assert_eq!(
        deleted.deleted,
        vec![id("vpce-0a1b2c3d4e5f60718"), id("vpce-0b2c3d4e5f6071829")]
    );
}

#[test]
fn delete_partial_failure_sample() {
    let deleted = expect_unlink(&sample("delete-partial-failure.json"));
    assert_eq!(deleted.deleted, vec![id("vpce-0a1b2c3d4e5f60718")]);
    assert_eq!(
        deleted.unsuccessful,
        vec![(
            "vpce-0d4e5f60718293a4b".to_owned(),
            "InvalidVpcEndpointId.NotFound".to_owned()
        )]
    );
}

#[test]
fn create_dry_run_ignored() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["errorCode"] = json!("Client.DryRunOperation");
    event["detail"]["responseElements"] = Value::Null;
    let reason = expect_ignore(&event);
    assert!(reason.contains("Client.DryRunOperation"), "{reason}");
}

#[test]
fn create_without_request_type_uses_response() {
    let mut event = sample("create-interface-one-subnet.json");
    let request = event["detail"]["requestParameters"]["CreateVpcEndpointRequest"]
        .as_object_mut()
        .unwrap();
    request.remove("VpcEndpointType");
    expect_link(&event);
}

#[test]
fn create_without_any_type_is_gateway() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["requestParameters"]["CreateVpcEndpointRequest"]
        .as_object_mut()
        .unwrap()
        .remove("VpcEndpointType");
    event["detail"]["responseElements"]["CreateVpcEndpointResponse"]["vpcEndpoint"]
        .as_object_mut()
        .unwrap()
        .remove("vpcEndpointType");
    let reason = expect_ignore(&event);
    assert!(reason.contains("Gateway"), "{reason}");
}

#[test]
fn create_gateway_load_balancer_ignored() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["responseElements"]["CreateVpcEndpointResponse"]["vpcEndpoint"]["vpcEndpointType"] =
        json!("GatewayLoadBalancer");
    let reason = expect_ignore(&event);
    assert!(reason.contains("GatewayLoadBalancer"), "{reason}");
}

#[test]
fn create_service_from_request_when_response_lacks_it() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["responseElements"]["CreateVpcEndpointResponse"]["vpcEndpoint"]
        .as_object_mut()
        .unwrap()
        .remove("serviceName");
    assert_eq!(expect_link(&event).service_name.as_str(), SERVICE);
}

#[test]
fn create_aws_service_ignored() {
    let mut event = sample("create-interface-one-subnet.json");
    let name = json!("com.amazonaws.us-east-1.execute-api");
    event["detail"]["requestParameters"]["CreateVpcEndpointRequest"]["ServiceName"] = name.clone();
    event["detail"]["responseElements"]["CreateVpcEndpointResponse"]["vpcEndpoint"]["serviceName"] =
        name;
    let reason = expect_ignore(&event);
    assert!(
        reason.contains("not a PrivateLink endpoint service"),
        "{reason}"
    );
}

#[test]
fn create_ignores_top_level_endpoint_id() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["vpcEndpointId"] = json!("vpce-0fffffffffffffff1");
    assert_eq!(
        expect_link(&event).endpoint_id,
        id("vpce-0a1b2c3d4e5f60718")
    );
}

#[test]
fn create_tolerates_unusual_user_identity() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["userIdentity"] =
        json!({"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"});
    event["detail"].as_object_mut().unwrap().remove("userAgent");
    event["detail"]["recipientAccountId"] = json!(111122223333u64);
    expect_link(&event);
}

#[test]
fn create_null_response_without_error_invalid() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["responseElements"] = Value::Null;
    let message = expect_invalid(&event);
    assert!(message.contains("responseElements is null"), "{message}");
}

#[test]
fn create_malformed_ids_invalid() {
    for bad in [
        "vpce-../../groups",
        "vpce-0A1B2C3D4E5F60718",
        "vpce-123",
        "",
        "vpce-0a1b2c3d4e5f60718/endpoint",
    ] {
        let mut event = sample("create-interface-one-subnet.json");
        event["detail"]["responseElements"]["CreateVpcEndpointResponse"]["vpcEndpoint"]["vpcEndpointId"] =
            json!(bad);
        let message = expect_invalid(&event);
        assert!(message.contains("vpcEndpointId"), "{bad}: {message}");
    }
}

#[test]
fn create_id_of_wrong_type_invalid() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["responseElements"]["CreateVpcEndpointResponse"]["vpcEndpoint"]["vpcEndpointId"] =
        json!(["vpce-0a1b2c3d4e5f60718"]);
    let message = expect_invalid(&event);
    assert!(message.contains("must be a string, got array"), "{message}");
}

#[test]
fn delete_array_of_ids() {
    let mut event = sample("delete-one.json");
    event["detail"]["requestParameters"]["DeleteVpcEndpointsRequest"]["VpcEndpointId"] = json!([
        {"tag": 1, "content": "vpce-0a1b2c3d4e5f60718"},
        {"tag": 2, "content": "vpce-0b2c3d4e5f6071829"},
        {"tag": 3, "content": "vpce-0a1b2c3d4e5f60718"}
    ]);
    let deleted = expect_unlink(&event);
    assert_eq!(
        deleted.deleted,
        vec![id("vpce-0a1b2c3d4e5f60718"), id("vpce-0b2c3d4e5f6071829")]
    );
}

#[test]
fn delete_unsuccessful_array() {
    let mut event = sample("delete-several.json");
    event["detail"]["responseElements"]["DeleteVpcEndpointsResponse"]["unsuccessful"] = json!({"item": [
        {"error": {"code": "InvalidVpcEndpointId.NotFound", "message": "m"}, "resourceId": "vpce-0a1b2c3d4e5f60718"},
        {"error": {"code": "DependencyViolation", "message": "m"}, "resourceId": "vpce-0b2c3d4e5f6071829"}
    ]});
    let deleted = expect_unlink(&event);
    assert!(deleted.deleted.is_empty());
    assert_eq!(deleted.unsuccessful.len(), 2);
}

#[test]
fn delete_missing_unsuccessful_means_none() {
    let mut event = sample("delete-one.json");
    event["detail"]["responseElements"]["DeleteVpcEndpointsResponse"]
        .as_object_mut()
        .unwrap()
        .remove("unsuccessful");
    assert_eq!(expect_unlink(&event).deleted.len(), 1);
}

#[test]
fn delete_without_ids_invalid() {
    let mut event = sample("delete-one.json");
    event["detail"]["requestParameters"]["DeleteVpcEndpointsRequest"]["VpcEndpointId"] = json!("");
    let message = expect_invalid(&event);
    assert!(message.contains("lists no endpoint"), "{message}");
}

#[test]
fn delete_path_trick_invalid() {
    let mut event = sample("delete-one.json");
    event["detail"]["requestParameters"]["DeleteVpcEndpointsRequest"]["VpcEndpointId"] =
        json!({"tag": 1, "content": "vpce-../../groups"});
    let message = expect_invalid(&event);
    assert!(message.contains("vpce-../../groups"), "{message}");
}

#[test]
fn delete_failed_call_ignored() {
    let mut event = sample("delete-one.json");
    event["detail"]["errorCode"] = json!("Client.InvalidVpcEndpointId.NotFound");
    event["detail"]["responseElements"] = Value::Null;
    expect_ignore(&event);
}

#[test]
fn other_sources_and_calls_ignored() {
    let mut other_source = sample("create-interface-one-subnet.json");
    other_source["source"] = json!("aws.s3");
    assert!(expect_ignore(&other_source).contains("aws.s3"));

    let mut other_type = sample("create-interface-one-subnet.json");
    other_type["detail-type"] = json!("EC2 Instance State-change Notification");
    assert!(expect_ignore(&other_type).contains("detail-type"));

    let mut other_call = sample("create-interface-one-subnet.json");
    other_call["detail"]["eventName"] = json!("ModifyVpcEndpoint");
    assert!(expect_ignore(&other_call).contains("ModifyVpcEndpoint"));
}

#[test]
fn envelope_errors_name_the_field() {
    let cases = [
        (json!([]), "expected a JSON object, got array"),
        (json!({}), "source is missing"),
        (
            json!({"source": {"a": 1}}),
            "source must be a string, got object",
        ),
        (json!({"source": "aws.ec2"}), "detail-type is missing"),
        (
            json!({"source": "aws.ec2", "detail-type": "AWS API Call via CloudTrail"}),
            "detail is missing",
        ),
        (
            json!({"source": "aws.ec2", "detail-type": "AWS API Call via CloudTrail", "detail": "x"}),
            "detail must be an object, got string",
        ),
        (
            json!({"source": "aws.ec2", "detail-type": "AWS API Call via CloudTrail", "detail": {}}),
            "detail.eventName is missing",
        ),
    ];
    for (event, expected) in cases {
        let message = expect_invalid(&event);
        assert!(message.contains(expected), "{event}: {message}");
    }
}

#[test]
fn region_falls_back_to_envelope() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"].as_object_mut().unwrap().remove("awsRegion");
    event["region"] = json!("eu-west-1");
    assert_eq!(expect_link(&event).region.as_str(), "eu-west-1");
}

#[test]
fn account_read_from_recipient_then_envelope() {
    let mut event = sample("create-interface-one-subnet.json");
    event["account"] = json!("444455556666");
    let account = |e: &Value| expect_link(e).account.as_str().to_owned();
    assert_eq!(account(&event), "111122223333");
    event["detail"]
        .as_object_mut()
        .unwrap()
        .remove("recipientAccountId");
    assert_eq!(account(&event), "444455556666");
    event.as_object_mut().unwrap().remove("account");
    let message = expect_invalid(&event);
    assert!(
        message.contains("recipientAccountId or account is missing"),
        "{message}"
    );

    let mut deleted = sample("delete-one.json");
    deleted["detail"]["recipientAccountId"] = json!(777788889999u64);
    assert_eq!(expect_unlink(&deleted).account.as_str(), "777788889999");
}

#[test]
fn account_invalid_rejected() {
    for (field, value) in [
        ("recipientAccountId", json!("1111-2222-3333")),
        ("recipientAccountId", json!("111122223333:role/admin")),
        ("recipientAccountId", json!("*")),
        ("recipientAccountId", json!(["111122223333"])),
        ("recipientAccountId", json!(11112222333u64)),
    ] {
        let mut event = sample("create-interface-one-subnet.json");
        event["detail"][field] = value.clone();
        let message = expect_invalid(&event);
        assert!(
            message.contains("detail.recipientAccountId"),
            "{value}: {message}"
        );
    }
    let mut event = sample("delete-one.json");
    event["detail"]
        .as_object_mut()
        .unwrap()
        .remove("recipientAccountId");
    event["account"] = json!("../../111122223333");
    let message = expect_invalid(&event);
    assert!(message.contains("is not an AWS account id"), "{message}");

    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["recipientAccountId"] = json!("1".repeat(3000));
    let message = expect_invalid(&event);
    assert!(message.len() < 200, "{message}");
    assert!(message.contains("(3000 characters)"), "{message}");
}

#[test]
fn region_invalid_rejected() {
    let mut event = sample("create-interface-one-subnet.json");
    event["detail"]["awsRegion"] = json!("../../etc");
    let message = expect_invalid(&event);
    assert!(message.contains("not an AWS region name"), "{message}");
}

#[test]
fn list_items_shapes() {
    let cases = [
        (json!(""), 0),
        (Value::Null, 0),
        (json!({"tag": 1, "content": "a"}), 1),
        (
            json!([{"tag": 1, "content": "a"}, {"tag": 2, "content": "b"}]),
            2,
        ),
        (json!({"item": "a"}), 1),
        (json!({"item": ["a", "b", "c"]}), 3),
        (json!({"item": {"groupId": "sg-1"}}), 1),
        (json!("plain"), 1),
    ];
    for (value, expected) in cases {
        assert_eq!(list_items(Some(&value)).len(), expected, "{value}");
    }
    assert!(list_items(None).is_empty());
}

#[test]
fn list_items_deep_nesting_bounded() {
    let mut value = json!("vpce-0a1b2c3d4e5f60718");
    for _ in 0..10_000 {
        value = Value::Array(vec![value]);
    }
    assert!(list_items(Some(&value)).is_empty());
    // serde_json drops deeply nested values recursively, which can overflow the stack of a
    // test thread; forget it instead.
    std::mem::forget(value);
}

#[test]
fn meta_reads_ids() {
    let meta = read_meta(&sample("delete-one.json"));
    assert_eq!(
        meta.event_id.as_deref(),
        Some("b15d7e96-3c40-4fbc-a0a1-6c4b5f7e9db5")
    );
    assert_eq!(meta.event_name.as_deref(), Some("DeleteVpcEndpoints"));
    assert_eq!(meta.account_id.as_deref(), Some("111122223333"));
}
