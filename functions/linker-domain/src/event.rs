//! Reads EventBridge deliveries of CloudTrail records for `CreateVpcEndpoint` and
//! `DeleteVpcEndpoints` into an [`Intent`].
//!
//! CloudTrail renders EC2's XML API as JSON, so one logical field takes several shapes: a
//! one-item list is `{"tag":1,"content":"…"}` or `{"item":{…}}`, several items are arrays of
//! those, an empty set is `""`, and numbers can stand where strings are expected. The reader
//! accepts all of them and depends on nothing it does not use (`userIdentity`, for one).

use std::collections::HashSet;

use serde_json::Value;

use crate::ids::{AccountId, AwsRegion, EndpointServiceName, VpcEndpointId};

const SOURCE: &str = "aws.ec2";
const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";
const CREATE: &str = "CreateVpcEndpoint";
const DELETE: &str = "DeleteVpcEndpoints";

/// The facts of a delivery that the logs and the result name, whatever the outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventMeta {
    /// The EventBridge event id (`id`).
    pub event_id: Option<String>,
    /// The CloudTrail event name (`detail.eventName`).
    pub event_name: Option<String>,
    /// The CloudTrail event id (`detail.eventID`), the key to find the call in CloudTrail.
    pub cloudtrail_event_id: Option<String>,
    /// The account in which the call was made.
    pub account_id: Option<String>,
}

/// The work a delivery requests of the function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// An interface endpoint was created and may need linking.
    Link(CreatedEndpoint),
    /// Endpoints were deleted and may need unlinking.
    Unlink(DeletedEndpoints),
    /// Nothing to do, for the reason given.
    Ignore(String),
}

/// An interface endpoint as the `CreateVpcEndpoint` record describes it. The function confirms
/// each field with EC2 before acting on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedEndpoint {
    /// The account that made the call and owns the endpoint.
    pub account: AccountId,
    pub region: AwsRegion,
    pub endpoint_id: VpcEndpointId,
    pub service_name: EndpointServiceName,
    pub vpc_id: Option<String>,
}

/// The outcome of a `DeleteVpcEndpoints` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedEndpoints {
    /// The account that made the call and owned the endpoints.
    pub account: AccountId,
    pub region: AwsRegion,
    /// Ids that EC2 deleted: the requested ids minus those listed as unsuccessful.
    pub deleted: Vec<VpcEndpointId>,
    /// Ids that EC2 did not delete, with the error code it gave.
    pub unsuccessful: Vec<(String, String)>,
}

/// A delivery that is not the envelope this function expects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: {0}")]
pub struct InvalidEvent(pub String);

fn invalid(message: impl Into<String>) -> InvalidEvent {
    InvalidEvent(message.into())
}

/// Reads the delivery's identifying fields without judging the rest, so that even an invalid
/// event can be logged with its ids.
pub fn read_meta(event: &Value) -> EventMeta {
    let detail = event.get("detail");
    let text_at = |value: Option<&Value>, key: &str| value.and_then(|v| v.get(key)).and_then(text);
    EventMeta {
        event_id: text_at(Some(event), "id"),
        event_name: text_at(detail, "eventName"),
        cloudtrail_event_id: text_at(detail, "eventID"),
        account_id: text_at(detail, "recipientAccountId")
            .or_else(|| text_at(Some(event), "account")),
    }
}

/// Reads a delivery into an intent.
///
/// Returns [`Intent::Ignore`] for deliveries the function does not act on (other sources, other
/// calls, failed or dry-run calls, Gateway endpoints, services that are not endpoint services),
/// and an [`InvalidEvent`] error for anything that is not the expected envelope.
pub fn read_event(event: &Value) -> Result<Intent, InvalidEvent> {
    if !event.is_object() {
        return Err(invalid(format!(
            "expected a JSON object, got {}",
            kind(event)
        )));
    }
    let source = required_text(event, "source", "source")?;
    if source != SOURCE {
        return Ok(Intent::Ignore(format!(
            "source is {source:?}, not {SOURCE:?}"
        )));
    }
    let detail_type = required_text(event, "detail-type", "detail-type")?;
    if detail_type != DETAIL_TYPE {
        return Ok(Intent::Ignore(format!(
            "detail-type is {detail_type:?}, not {DETAIL_TYPE:?}"
        )));
    }
    let detail = match event.get("detail") {
        Some(detail @ Value::Object(_)) => detail,
        Some(other) => {
            return Err(invalid(format!(
                "detail must be an object, got {}",
                kind(other)
            )));
        }
        None => return Err(invalid("detail is missing")),
    };
    let event_name = required_text(detail, "eventName", "detail.eventName")?;
    if event_name != CREATE && event_name != DELETE {
        return Ok(Intent::Ignore(format!(
            "eventName {event_name:?} is not {CREATE} or {DELETE}"
        )));
    }
    if let Some(code) = detail.get("errorCode").filter(|v| !v.is_null()) {
        // Arrays and objects are named by type only, because printing them would make the
        // reason as large as the value and recurse once per level of nesting.
        let code = match code {
            Value::Array(_) | Value::Object(_) => format!("of type {}", kind(code)),
            scalar => text(scalar).unwrap_or_else(|| scalar.to_string()),
        };
        return Ok(Intent::Ignore(format!(
            "the {event_name} call failed with errorCode {code}"
        )));
    }
    let region = event_region(event, detail)?;
    let account = event_account(event, detail)?;
    if event_name == CREATE {
        read_create(detail, account, region)
    } else {
        read_delete(detail, account, region)
    }
}

/// Picks the account of the API call: `detail.recipientAccountId`, else the envelope's
/// `account`. A missing value, or one that is not 12 digits, rejects the event, because the
/// function reads EC2 in that account.
fn event_account(event: &Value, detail: &Value) -> Result<AccountId, InvalidEvent> {
    let found = [
        (
            "detail.recipientAccountId",
            detail.get("recipientAccountId"),
        ),
        ("account", event.get("account")),
    ]
    .into_iter()
    .find_map(|(path, value)| value.filter(|v| !v.is_null()).map(|v| (path, v)));
    let Some((path, value)) = found else {
        return Err(invalid("detail.recipientAccountId or account is missing"));
    };
    let raw = text(value)
        .ok_or_else(|| invalid(format!("{path} must be a string, got {}", kind(value))))?;
    AccountId::parse(&raw).ok_or_else(|| {
        invalid(format!(
            "{path} {:?} is not an AWS account id (12 digits)",
            shorten(&raw)
        ))
    })
}

/// Picks the region of the API call: `detail.awsRegion`, else the envelope's `region`.
fn event_region(event: &Value, detail: &Value) -> Result<AwsRegion, InvalidEvent> {
    let (path, value) = match detail.get("awsRegion").and_then(text) {
        Some(value) => ("detail.awsRegion", value),
        None => (
            "region",
            required_text(event, "region", "detail.awsRegion or region")?,
        ),
    };
    AwsRegion::parse(&value).ok_or_else(|| {
        invalid(format!(
            "{path} {:?} is not an AWS region name",
            shorten(&value)
        ))
    })
}

fn read_create(
    detail: &Value,
    account: AccountId,
    region: AwsRegion,
) -> Result<Intent, InvalidEvent> {
    let request = detail
        .get("requestParameters")
        .and_then(|p| p.get("CreateVpcEndpointRequest"))
        .filter(|r| r.is_object());
    let response = match detail.get("responseElements") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "detail.responseElements is null although detail.errorCode is absent",
            ));
        }
        Some(elements) => elements
            .get("CreateVpcEndpointResponse")
            .and_then(|r| r.get("vpcEndpoint"))
            .filter(|e| e.is_object())
            .ok_or_else(|| {
                invalid("detail.responseElements.CreateVpcEndpointResponse.vpcEndpoint is missing")
            })?,
    };

    // The response describes what EC2 created, and the request only what was requested. A
    // request without VpcEndpointType creates a Gateway endpoint.
    let endpoint_type = response
        .get("vpcEndpointType")
        .and_then(text)
        .or_else(|| {
            request
                .and_then(|r| r.get("VpcEndpointType"))
                .and_then(text)
        })
        .unwrap_or_else(|| "Gateway".to_owned());
    if !endpoint_type.eq_ignore_ascii_case("Interface") {
        return Ok(Intent::Ignore(format!(
            "the endpoint is of type {endpoint_type}, and only Interface endpoints can link to Atlas"
        )));
    }

    let id_path = "detail.responseElements.CreateVpcEndpointResponse.vpcEndpoint.vpcEndpointId";
    let raw_id = required_text(response, "vpcEndpointId", id_path)?;
    let endpoint_id = VpcEndpointId::parse(&raw_id).ok_or_else(|| {
        invalid(format!(
            "{id_path} {:?} is not vpce- and 17 hex digits",
            shorten(&raw_id)
        ))
    })?;

    let raw_service = response
        .get("serviceName")
        .and_then(text)
        .or_else(|| request.and_then(|r| r.get("ServiceName")).and_then(text))
        .ok_or_else(|| invalid("the created endpoint's serviceName is missing"))?;
    let Some(service_name) = EndpointServiceName::parse(&raw_service) else {
        return Ok(Intent::Ignore(format!(
            "service {raw_service:?} is not a PrivateLink endpoint service \
             (com.amazonaws.vpce.<region>.vpce-svc-<17 hex>)"
        )));
    };

    let vpc_id = response
        .get("vpcId")
        .and_then(text)
        .or_else(|| request.and_then(|r| r.get("VpcId")).and_then(text));
    Ok(Intent::Link(CreatedEndpoint {
        account,
        region,
        endpoint_id,
        service_name,
        vpc_id,
    }))
}

fn read_delete(
    detail: &Value,
    account: AccountId,
    region: AwsRegion,
) -> Result<Intent, InvalidEvent> {
    let request_path = "detail.requestParameters.DeleteVpcEndpointsRequest";
    let request = detail
        .get("requestParameters")
        .and_then(|p| p.get("DeleteVpcEndpointsRequest"))
        .filter(|r| r.is_object())
        .ok_or_else(|| invalid(format!("{request_path} is missing")))?;
    let requested = read_list(
        request.get("VpcEndpointId"),
        &format!("{request_path}.VpcEndpointId"),
    )?;
    if requested.is_empty() {
        return Err(invalid(format!(
            "{request_path}.VpcEndpointId lists no endpoint"
        )));
    }

    // Only the response lists the endpoints that EC2 failed to delete, so an event without it
    // is rejected rather than read as "all deleted".
    let response_path = "detail.responseElements.DeleteVpcEndpointsResponse";
    let response = match detail.get("responseElements") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "detail.responseElements is null although detail.errorCode is absent",
            ));
        }
        Some(elements) => elements
            .get("DeleteVpcEndpointsResponse")
            .filter(|r| r.is_object())
            .ok_or_else(|| invalid(format!("{response_path} is missing")))?,
    };
    let unsuccessful = read_unsuccessful(response, response_path)?;
    let failed: HashSet<&str> = unsuccessful.iter().map(|(id, _)| id.as_str()).collect();

    // Sets keep this loop linear in the number of ids, because a request can list thousands.
    let mut deleted = Vec::new();
    let mut seen = HashSet::new();
    for item in requested {
        let raw = text(item).ok_or_else(|| {
            invalid(format!(
                "{request_path}.VpcEndpointId contains a value of type {}, not an id",
                kind(item)
            ))
        })?;
        if failed.contains(raw.as_str()) {
            continue;
        }
        let id = VpcEndpointId::parse(&raw).ok_or_else(|| {
            invalid(format!(
                "{request_path}.VpcEndpointId {:?} is not vpce- and 17 hex digits",
                shorten(&raw)
            ))
        })?;
        if seen.insert(id.clone()) {
            deleted.push(id);
        }
    }
    Ok(Intent::Unlink(DeletedEndpoints {
        account,
        region,
        deleted,
        unsuccessful,
    }))
}

/// Reads the endpoints that EC2 did not delete, with the error code it gave for each. An item
/// without a `resourceId` rejects the event, because its endpoint would otherwise be unlinked
/// although EC2 kept it.
fn read_unsuccessful(
    response: &Value,
    response_path: &str,
) -> Result<Vec<(String, String)>, InvalidEvent> {
    let path = format!("{response_path}.unsuccessful");
    read_list(response.get("unsuccessful"), &path)?
        .into_iter()
        .map(|item| {
            let id = item.get("resourceId").and_then(text).ok_or_else(|| {
                invalid(format!(
                    "{path} has an item without a resourceId, so the function cannot tell \
                     which endpoints EC2 deleted"
                ))
            })?;
            let code = item
                .get("error")
                .and_then(|e| e.get("code"))
                .and_then(text)
                .unwrap_or_else(|| "unknown".to_owned());
            Ok((id, code))
        })
        .collect()
}

/// Flattens every list shape CloudTrail uses for EC2 into its items: `""` and a missing list are
/// empty, `{"item": x}` and `{"tag":…, "content": x}` unwrap to `x`, arrays are flattened.
/// Nesting deeper than [`MAX_LIST_DEPTH`] rejects the event, so that no item is silently lost.
fn read_list<'a>(value: Option<&'a Value>, path: &str) -> Result<Vec<&'a Value>, InvalidEvent> {
    let mut items = Vec::new();
    if let Some(value) = value {
        if !collect_items(value, &mut items, 0) {
            return Err(invalid(format!(
                "{path} nests lists more than {MAX_LIST_DEPTH} levels deep, \
                 which no CloudTrail record does"
            )));
        }
    }
    Ok(items)
}

/// Returns the items that [`read_list`] reads, but leaves out those nested too deep instead of
/// failing.
#[cfg(test)]
fn list_items(value: Option<&Value>) -> Vec<&Value> {
    let mut items = Vec::new();
    if let Some(value) = value {
        collect_items(value, &mut items, 0);
    }
    items
}

/// Nesting deeper than this is no CloudTrail shape, and stopping bounds the recursion.
const MAX_LIST_DEPTH: usize = 4;

/// Appends the items of `value` to `items`. Returns false when part of `value` is nested deeper
/// than [`MAX_LIST_DEPTH`], which leaves that part out.
fn collect_items<'a>(value: &'a Value, items: &mut Vec<&'a Value>, depth: usize) -> bool {
    if depth > MAX_LIST_DEPTH {
        return false;
    }
    match value {
        Value::Null => true,
        Value::String(s) if s.is_empty() => true,
        Value::Array(values) => {
            let mut complete = true;
            for value in values {
                complete &= collect_items(value, items, depth + 1);
            }
            complete
        }
        Value::Object(map) if map.contains_key("item") => {
            collect_items(&map["item"], items, depth + 1)
        }
        Value::Object(map) if map.contains_key("content") => {
            collect_items(&map["content"], items, depth + 1)
        }
        other => {
            items.push(other);
            true
        }
    }
}

/// The maximum length, in characters, of a value that an error message repeats in full.
const MAX_SHOWN_CHARS: usize = 64;

/// Returns `raw`, cut to [`MAX_SHOWN_CHARS`] characters with a marker, so that a huge value does
/// not make the error as large as the event.
pub fn shorten(raw: &str) -> String {
    match raw.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((end, _)) => format!("{}… ({} characters)", &raw[..end], raw.chars().count()),
        None => raw.to_owned(),
    }
}

/// Reads a string, or a number written where a string is expected.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn required_text(value: &Value, key: &str, path: &str) -> Result<String, InvalidEvent> {
    match value.get(key) {
        None | Some(Value::Null) => Err(invalid(format!("{path} is missing"))),
        Some(found) => text(found)
            .ok_or_else(|| invalid(format!("{path} must be a string, got {}", kind(found)))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
