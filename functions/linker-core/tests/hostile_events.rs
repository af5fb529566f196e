//! Malformed and hostile EventBridge deliveries, read by the event reader and carried out by the
//! linker.
//!
//! Every case goes through `read_meta` and `read_event`, neither of which may panic, and must give
//! the expected outcome. The outcome then goes through a `Linker` whose fakes agree with whatever
//! the event claims, so that the linker goes as far as Atlas whenever it acts. Only ids of the form
//! `vpce-` and 17 lower-case hex digits may reach Atlas, and an ignored or invalid event must cause
//! no EC2 or Atlas call at all.

use std::collections::HashSet;
use std::panic::catch_unwind;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as WallClock};

use linker_core::domain::event::{Intent, InvalidEvent, read_event, read_meta};
use linker_core::domain::ids::{EndpointServiceId, ProjectId, VpcEndpointId};
use linker_core::domain::verdict::{AtlasLinkState, AtlasStatus, Ec2State};
use linker_core::error::{AtlasError, Ec2Error};
use linker_core::linker::{LinkPolicy, Linker};
use linker_core::ports::{
    AtlasPort, Ec2Endpoint, Ec2Location, Ec2Port, EndpointService, LinkOutcome, UnlinkOutcome,
};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

const PROJECT: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";
const SERVICE_ID: &str = "65a1b2c3d4e5f6a7b8c9d0e1";
/// The endpoint service in the sample events.
const SERVICE: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8";
/// The endpoint that create-interface-one-subnet.json creates and delete-one.json deletes.
const ENDPOINT: &str = "vpce-0a1b2c3d4e5f60718";
const OTHER_ENDPOINT: &str = "vpce-0b2c3d4e5f6071829";

const CREATE_REQUEST: &str = "/detail/requestParameters/CreateVpcEndpointRequest";
const CREATED: &str = "/detail/responseElements/CreateVpcEndpointResponse/vpcEndpoint";
const DELETE_REQUEST: &str = "/detail/requestParameters/DeleteVpcEndpointsRequest";
const DELETE_IDS: &str = "/detail/requestParameters/DeleteVpcEndpointsRequest/VpcEndpointId";
const DELETE_RESPONSE: &str = "/detail/responseElements/DeleteVpcEndpointsResponse";
const UNSUCCESSFUL: &str = "/detail/responseElements/DeleteVpcEndpointsResponse/unsuccessful";

/// The deepest nesting of arrays and objects that serde_json 1.0 parses from text: its parser
/// starts with a recursion budget of 128 and fails when the budget reaches zero. lambda_runtime
/// 1.5 parses each payload with `serde_json::Deserializer::from_slice`, so no deeper event can
/// reach the function.
const MAX_PARSED_NESTING: usize = 127;
/// Nesting depth of the values built in memory, far past what serde_json parses from text.
const DEEP: usize = 100_000;
/// Length of the oversized arrays.
const HUGE: usize = 100_000;
/// Wall-clock limit for one `read_event` call. It leaves a wide margin for a debug build on a
/// loaded machine, while a pass that is quadratic in the number of ids takes far longer on
/// `HUGE` ids.
const READ_TIME_LIMIT: Duration = Duration::from_secs(10);
/// How many of the deleted ids the fake Atlas lists as linked, so that the linker sends unlink
/// requests for them. Listing all `HUGE` ids would make the linker's lookups quadratic.
const LINKED_BEFORE_DELETE: usize = 8;

/// What reading a case must produce.
#[derive(Debug)]
enum Expected {
    /// `Intent::Ignore` with a reason that contains this text.
    Ignored(&'static str),
    /// `InvalidEvent` with a message that contains this text.
    Invalid(&'static str),
    /// `Intent::Link` of this endpoint.
    Link(&'static str),
    /// `Intent::Unlink` of exactly these endpoints, in this order.
    Unlink(Vec<String>),
}

struct Case {
    name: String,
    event: Event,
    expected: Expected,
}

fn case(name: impl Into<String>, event: Value, expected: Expected) -> Case {
    Case {
        name: name.into(),
        event: Event(event),
        expected,
    }
}

/// An event under test. Dropping it takes the value apart one level at a time, because the
/// recursive drop of `Value` overflows the test thread's stack on the `DEEP` values.
struct Event(Value);

impl Drop for Event {
    fn drop(&mut self) {
        let mut pending = vec![self.0.take()];
        while let Some(mut value) = pending.pop() {
            match &mut value {
                Value::Array(items) => pending.append(items),
                Value::Object(map) => {
                    pending.extend(std::mem::take(map).into_iter().map(|(_, item)| item));
                }
                _ => {}
            }
        }
    }
}

fn unlink(ids: &[&str]) -> Expected {
    Expected::Unlink(ids.iter().map(|id| id.to_string()).collect())
}

// ---------------------------------------------------------------------------------------------
// Building events
// ---------------------------------------------------------------------------------------------

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

/// Reads the sample `CreateVpcEndpoint` record of an Interface endpoint.
fn create() -> Value {
    sample("create-interface-one-subnet.json")
}

/// Reads the sample `DeleteVpcEndpoints` record of one endpoint.
fn delete() -> Value {
    sample("delete-one.json")
}

/// Sets the member at a JSON pointer, whose parent must be an object.
fn set(mut event: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer starts with /");
    event
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{parent} is not an object"))
        .insert(key.to_owned(), value);
    event
}

/// Removes the member at a JSON pointer, whose parent must be an object.
fn remove(mut event: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer starts with /");
    event
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{parent} is not an object"))
        .remove(key);
    event
}

fn create_with_id(id: Value) -> Value {
    set(create(), &format!("{CREATED}/vpcEndpointId"), id)
}

/// Builds a create record that names `service` in both the request and the response.
fn create_with_service(service: Value) -> Value {
    let event = set(
        create(),
        &format!("{CREATE_REQUEST}/ServiceName"),
        service.clone(),
    );
    set(event, &format!("{CREATED}/serviceName"), service)
}

fn delete_with_ids(ids: Value) -> Value {
    set(delete(), DELETE_IDS, ids)
}

fn delete_with_unsuccessful(ids: Value, unsuccessful: Value) -> Value {
    set(delete_with_ids(ids), UNSUCCESSFUL, unsuccessful)
}

/// Builds one item of a `DeleteVpcEndpoints` request list, as CloudTrail renders it.
fn tagged(tag: usize, content: Value) -> Value {
    json!({"tag": tag, "content": content})
}

/// Builds one `unsuccessful` item of a `DeleteVpcEndpoints` response.
fn failure(resource_id: Value) -> Value {
    json!({
        "error": {"code": "InvalidVpcEndpointId.NotFound", "message": "not found"},
        "resourceId": resource_id
    })
}

/// Returns `count` distinct well-formed endpoint ids.
fn endpoint_ids(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("vpce-{n:017x}")).collect()
}

fn nest_in_arrays(mut value: Value, depth: usize) -> Value {
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

fn nest_in_objects(mut value: Value, key: &str, depth: usize) -> Value {
    for _ in 0..depth {
        let mut map = Map::new();
        map.insert(key.to_owned(), value);
        value = Value::Object(map);
    }
    value
}

/// Returns the number of arrays and objects on the longest path from `value` down, without
/// recursion, so that it works on the `DEEP` values.
fn nesting_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 1)];
    while let Some((value, depth)) = pending.pop() {
        match value {
            Value::Array(items) => {
                deepest = deepest.max(depth);
                pending.extend(items.iter().map(|item| (item, depth + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(depth);
                pending.extend(map.values().map(|item| (item, depth + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Returns true when `text` matches `^vpce-[0-9a-f]{17}$`. It is written apart from
/// `VpcEndpointId::parse`, so that the checks do not trust the code under test.
fn matches_endpoint_id(text: &str) -> bool {
    text.strip_prefix("vpce-").is_some_and(|hex| {
        hex.len() == 17 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

// ---------------------------------------------------------------------------------------------
// Recording fakes
// ---------------------------------------------------------------------------------------------

/// One call that reached the fake Atlas, with the endpoint id it carried, if any.
#[derive(Clone, Debug)]
struct AtlasCall {
    operation: &'static str,
    endpoint: Option<String>,
}

#[derive(Default)]
struct Recorder {
    ec2: Mutex<Vec<String>>,
    atlas: Mutex<Vec<AtlasCall>>,
}

impl Recorder {
    fn ec2_calls(&self) -> Vec<String> {
        self.ec2.lock().unwrap().clone()
    }

    fn atlas_calls(&self) -> Vec<AtlasCall> {
        self.atlas.lock().unwrap().clone()
    }

    fn record_atlas(&self, operation: &'static str, endpoint: Option<&VpcEndpointId>) {
        self.atlas.lock().unwrap().push(AtlasCall {
            operation,
            endpoint: endpoint.map(|id| id.as_str().to_owned()),
        });
    }
}

/// Describes every id as an available Interface endpoint of `service`, or as unknown to EC2 when
/// `service` is `None`.
struct FakeEc2 {
    service: Option<String>,
    recorder: Arc<Recorder>,
}

impl Ec2Port for FakeEc2 {
    async fn describe_endpoint(
        &self,
        _at: &Ec2Location,
        id: &VpcEndpointId,
    ) -> Result<Option<Ec2Endpoint>, Ec2Error> {
        self.recorder
            .ec2
            .lock()
            .unwrap()
            .push(id.as_str().to_owned());
        Ok(self.service.as_ref().map(|service| Ec2Endpoint {
            id: id.as_str().to_owned(),
            endpoint_type: "Interface".to_owned(),
            service_name: service.clone(),
            state: Ec2State::Available,
            vpc_id: Some("vpc-0123456789abcdef0".to_owned()),
            owner_id: Some("111122223333".to_owned()),
            tags: Vec::new(),
            created_at: None,
        }))
    }

    async fn list_endpoints(
        &self,
        _at: &Ec2Location,
        _service_name: &str,
    ) -> Result<Vec<Ec2Endpoint>, Ec2Error> {
        Ok(Vec::new())
    }

    async fn tag_endpoint(
        &self,
        _at: &Ec2Location,
        id: &VpcEndpointId,
        _key: &str,
        _value: &str,
    ) -> Result<(), Ec2Error> {
        self.recorder
            .ec2
            .lock()
            .unwrap()
            .push(id.as_str().to_owned());
        Ok(())
    }
}

/// One endpoint service named `service`, which lists `linked` as its interface endpoints.
struct FakeAtlas {
    service: String,
    linked: Vec<String>,
    recorder: Arc<Recorder>,
}

fn available() -> AtlasLinkState {
    AtlasLinkState {
        status: AtlasStatus::Available,
        delete_requested: false,
        error_message: None,
    }
}

impl AtlasPort for FakeAtlas {
    async fn list_endpoint_services(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<EndpointService>, AtlasError> {
        self.recorder.record_atlas("list", None);
        Ok(vec![EndpointService {
            project_id: project.clone(),
            id: EndpointServiceId::parse(SERVICE_ID).unwrap(),
            endpoint_service_name: Some(self.service.clone()),
            region_name: Some("US_EAST_1".to_owned()),
            status: Some("AVAILABLE".to_owned()),
            interface_endpoints: self.linked.clone(),
        }])
    }

    async fn link(
        &self,
        _project: &ProjectId,
        _service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<LinkOutcome, AtlasError> {
        self.recorder.record_atlas("link", Some(endpoint));
        Ok(LinkOutcome::Created(available()))
    }

    async fn get_link(
        &self,
        _project: &ProjectId,
        _service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<AtlasLinkState, AtlasError> {
        self.recorder.record_atlas("get", Some(endpoint));
        Ok(available())
    }

    async fn unlink(
        &self,
        _project: &ProjectId,
        _service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<UnlinkOutcome, AtlasError> {
        self.recorder.record_atlas("unlink", Some(endpoint));
        Ok(UnlinkOutcome::Requested)
    }
}

/// Builds fakes that agree with the outcome of reading: EC2 confirms a created endpoint and
/// Atlas lists its service, and Atlas lists the first deleted endpoints as linked. For an
/// ignored or invalid event both fakes would confirm the sample endpoint.
fn fakes_for(
    read: &Result<Intent, InvalidEvent>,
    recorder: &Arc<Recorder>,
) -> (FakeEc2, FakeAtlas) {
    let (ec2_service, atlas_service, linked) = match read {
        Ok(Intent::Link(created)) => {
            let service = created.service_name.as_str().to_owned();
            (Some(service.clone()), service, Vec::new())
        }
        Ok(Intent::Unlink(deleted)) => {
            let linked = deleted
                .deleted
                .iter()
                .take(LINKED_BEFORE_DELETE)
                .map(|id| id.as_str().to_owned())
                .collect();
            (None, SERVICE.to_owned(), linked)
        }
        Ok(Intent::Ignore(_)) | Err(_) => (
            Some(SERVICE.to_owned()),
            SERVICE.to_owned(),
            vec![ENDPOINT.to_owned()],
        ),
    };
    let ec2 = FakeEc2 {
        service: ec2_service,
        recorder: Arc::clone(recorder),
    };
    let atlas = FakeAtlas {
        service: atlas_service,
        linked,
        recorder: Arc::clone(recorder),
    };
    (ec2, atlas)
}

// ---------------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------------

/// Cuts long debug output of huge cases down to a readable failure message.
fn shorten(text: String) -> String {
    const MAX_CHARS: usize = 400;
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
        None => text,
    }
}

/// Serializes the event to text and parses it back, as Lambda would deliver it, when serde_json
/// can parse it. Deeper events stay as they were built.
fn deliver(event: Event, name: &str) -> Event {
    if nesting_depth(&event.0) > MAX_PARSED_NESTING {
        return event;
    }
    let text = serde_json::to_string(&event.0)
        .unwrap_or_else(|e| panic!("{name}: serializing the event failed: {e}"));
    drop(event);
    let parsed = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{name}: parsing the serialized event failed: {e}"));
    Event(parsed)
}

async fn check(case: Case) {
    let Case {
        name,
        event,
        expected,
    } = case;
    let event = deliver(event, &name);

    let meta = catch_unwind(|| read_meta(&event.0));
    assert!(meta.is_ok(), "{name}: read_meta panicked");

    let started = WallClock::now();
    let read = catch_unwind(|| read_event(&event.0));
    let elapsed = started.elapsed();
    let Ok(read) = read else {
        panic!("{name}: read_event panicked");
    };
    assert!(
        elapsed < READ_TIME_LIMIT,
        "{name}: read_event took {elapsed:?}"
    );
    check_outcome(&name, &expected, &read);
    check_linker_calls(&name, &expected, &read).await;
}

fn check_outcome(name: &str, expected: &Expected, read: &Result<Intent, InvalidEvent>) {
    match (expected, read) {
        (Expected::Ignored(text), Ok(Intent::Ignore(reason))) => {
            assert!(
                reason.contains(text),
                "{name}: reason {:?} lacks {text:?}",
                shorten(reason.clone())
            );
        }
        (Expected::Invalid(text), Err(InvalidEvent(message))) => {
            assert!(
                message.contains(text),
                "{name}: message {:?} lacks {text:?}",
                shorten(message.clone())
            );
        }
        (Expected::Link(id), Ok(Intent::Link(created))) => {
            assert_eq!(created.endpoint_id.as_str(), *id, "{name}");
        }
        (Expected::Unlink(ids), Ok(Intent::Unlink(deleted))) => {
            let read_ids: Vec<&str> = deleted.deleted.iter().map(|id| id.as_str()).collect();
            assert_eq!(read_ids.len(), ids.len(), "{name}: number of deleted ids");
            assert!(
                read_ids.iter().zip(ids).all(|(read, id)| read == id),
                "{name}: deleted ids {}",
                shorten(format!("{read_ids:?}"))
            );
        }
        (expected, read) => panic!(
            "{name}: expected {}, got {}",
            shorten(format!("{expected:?}")),
            shorten(format!("{read:?}"))
        ),
    }
}

/// Carries out the outcome of reading as the handler does, and checks every call the fakes saw.
async fn check_linker_calls(name: &str, expected: &Expected, read: &Result<Intent, InvalidEvent>) {
    let recorder = Arc::new(Recorder::default());
    let (ec2, atlas) = fakes_for(read, &recorder);
    let project = ProjectId::parse(PROJECT).unwrap();
    let linker = Linker::new(ec2, atlas, vec![project], false, LinkPolicy::default());
    // The handler stops at an invalid event. An ignored one goes to the linker here as well, to
    // check that the linker itself does nothing with it.
    if let Ok(intent) = read {
        let reports = linker.apply(intent, Instant::now()).await;
        assert!(reports.is_ok(), "{name}: apply failed: {reports:?}");
    }

    let ec2_calls = recorder.ec2_calls();
    let atlas_calls = recorder.atlas_calls();
    let allowed: HashSet<&str> = match expected {
        Expected::Ignored(_) | Expected::Invalid(_) => {
            assert!(ec2_calls.is_empty(), "{name}: EC2 calls {ec2_calls:?}");
            assert!(
                atlas_calls.is_empty(),
                "{name}: Atlas calls {atlas_calls:?}"
            );
            return;
        }
        Expected::Link(id) => HashSet::from([*id]),
        Expected::Unlink(ids) => ids.iter().map(String::as_str).collect(),
    };

    for call in &atlas_calls {
        let Some(endpoint) = &call.endpoint else {
            continue;
        };
        assert!(
            matches_endpoint_id(endpoint),
            "{name}: Atlas {} carried {endpoint:?}",
            call.operation
        );
        assert!(
            allowed.contains(endpoint.as_str()),
            "{name}: Atlas {} carried {endpoint}, which the event did not name",
            call.operation
        );
    }
    for endpoint in &ec2_calls {
        assert!(
            matches_endpoint_id(endpoint),
            "{name}: EC2 describe carried {endpoint:?}"
        );
        assert!(
            allowed.contains(endpoint.as_str()),
            "{name}: EC2 describe carried {endpoint}, which the event did not name"
        );
    }

    let count = |operation: &str| {
        atlas_calls
            .iter()
            .filter(|call| call.operation == operation)
            .count()
    };
    match expected {
        Expected::Link(_) => assert_eq!(count("link"), 1, "{name}: Atlas link requests"),
        Expected::Unlink(ids) => assert_eq!(
            count("unlink"),
            ids.len().min(LINKED_BEFORE_DELETE),
            "{name}: Atlas unlink requests"
        ),
        Expected::Ignored(_) | Expected::Invalid(_) => {}
    }
}

async fn check_all(cases: Vec<Case>) {
    let mut names = HashSet::new();
    for case in &cases {
        assert!(names.insert(case.name.clone()), "duplicate {}", case.name);
    }
    for case in cases {
        check(case).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

fn envelope_cases() -> Vec<Case> {
    use Expected::{Ignored, Invalid};
    vec![
        case("event null", Value::Null, Invalid("got null")),
        case("event string", json!("aws.ec2"), Invalid("got string")),
        case("event number", json!(42), Invalid("got number")),
        case(
            "event array of events",
            json!([create()]),
            Invalid("got array"),
        ),
        case(
            "event empty object",
            json!({}),
            Invalid("source is missing"),
        ),
        case(
            "source null",
            set(create(), "/source", Value::Null),
            Invalid("source is missing"),
        ),
        case(
            "source missing",
            remove(create(), "/source"),
            Invalid("source is missing"),
        ),
        case(
            "source boolean",
            set(create(), "/source", json!(true)),
            Invalid("source must be a string, got boolean"),
        ),
        case(
            "source array",
            set(create(), "/source", json!(["aws.ec2"])),
            Invalid("source must be a string, got array"),
        ),
        case(
            "source object",
            set(create(), "/source", json!({"name": "aws.ec2"})),
            Invalid("source must be a string, got object"),
        ),
        case(
            "source number",
            set(create(), "/source", json!(2)),
            Ignored(r#"source is "2""#),
        ),
        case(
            "source other service",
            set(create(), "/source", json!("aws.s3")),
            Ignored(r#""aws.s3""#),
        ),
        case(
            "source custom prefix",
            set(create(), "/source", json!("custom.aws.ec2")),
            Ignored("custom.aws.ec2"),
        ),
        case(
            "source upper case",
            set(create(), "/source", json!("AWS.EC2")),
            Ignored("AWS.EC2"),
        ),
        case(
            "source trailing space",
            set(create(), "/source", json!("aws.ec2 ")),
            Ignored("source is"),
        ),
        case(
            "source NUL byte",
            set(create(), "/source", json!("aws.ec2\u{0}")),
            Ignored("source is"),
        ),
        case(
            "source Cyrillic a",
            set(create(), "/source", json!("\u{430}ws.ec2")),
            Ignored("source is"),
        ),
        case(
            "detail-type null",
            set(create(), "/detail-type", Value::Null),
            Invalid("detail-type is missing"),
        ),
        case(
            "detail-type array",
            set(
                create(),
                "/detail-type",
                json!(["AWS API Call via CloudTrail"]),
            ),
            Invalid("detail-type must be a string, got array"),
        ),
        case(
            "detail-type number",
            set(create(), "/detail-type", json!(7)),
            Ignored(r#"detail-type is "7""#),
        ),
        case(
            "detail-type lower case",
            set(
                create(),
                "/detail-type",
                json!("aws api call via cloudtrail"),
            ),
            Ignored("detail-type is"),
        ),
        case(
            "detail-type state change",
            set(
                create(),
                "/detail-type",
                json!("EC2 Instance State-change Notification"),
            ),
            Ignored("detail-type is"),
        ),
        case(
            "detail null",
            set(create(), "/detail", Value::Null),
            Invalid("detail must be an object, got null"),
        ),
        case(
            "detail missing",
            remove(create(), "/detail"),
            Invalid("detail is missing"),
        ),
        case(
            "detail as JSON text",
            set(create(), "/detail", json!(create()["detail"].to_string())),
            Invalid("detail must be an object, got string"),
        ),
        case(
            "detail array",
            set(create(), "/detail", json!([create()["detail"]])),
            Invalid("detail must be an object, got array"),
        ),
        case(
            "eventName null",
            set(create(), "/detail/eventName", Value::Null),
            Invalid("detail.eventName is missing"),
        ),
        case(
            "eventName object",
            set(
                create(),
                "/detail/eventName",
                json!({"name": "CreateVpcEndpoint"}),
            ),
            Invalid("detail.eventName must be a string, got object"),
        ),
        case(
            "eventName number",
            set(create(), "/detail/eventName", json!(5)),
            Ignored(r#"eventName "5""#),
        ),
        case(
            "eventName ModifyVpcEndpoint",
            set(create(), "/detail/eventName", json!("ModifyVpcEndpoint")),
            Ignored("ModifyVpcEndpoint"),
        ),
        case(
            "eventName service configuration",
            set(
                create(),
                "/detail/eventName",
                json!("CreateVpcEndpointServiceConfiguration"),
            ),
            Ignored("CreateVpcEndpointServiceConfiguration"),
        ),
        case(
            "eventName singular delete",
            set(delete(), "/detail/eventName", json!("DeleteVpcEndpoint")),
            Ignored(r#""DeleteVpcEndpoint""#),
        ),
        case(
            "eventName lower case",
            set(create(), "/detail/eventName", json!("createvpcendpoint")),
            Ignored("createvpcendpoint"),
        ),
        case(
            "eventName NUL byte",
            set(
                create(),
                "/detail/eventName",
                json!("CreateVpcEndpoint\u{0}"),
            ),
            Ignored("eventName"),
        ),
        case(
            "errorCode null",
            set(create(), "/detail/errorCode", Value::Null),
            Expected::Link(ENDPOINT),
        ),
        case(
            "errorCode empty string",
            set(create(), "/detail/errorCode", json!("")),
            Ignored("failed with errorCode"),
        ),
        case(
            "errorCode dry run",
            set(
                create(),
                "/detail/errorCode",
                json!("Client.DryRunOperation"),
            ),
            Ignored("Client.DryRunOperation"),
        ),
        case(
            "errorCode number",
            set(create(), "/detail/errorCode", json!(403)),
            Ignored("errorCode 403"),
        ),
        case(
            "errorCode boolean",
            set(delete(), "/detail/errorCode", json!(false)),
            Ignored("errorCode false"),
        ),
        case(
            "errorCode object",
            set(create(), "/detail/errorCode", json!({"code": "Client.X"})),
            Ignored("errorCode of type object"),
        ),
        case(
            "errorCode array",
            set(delete(), "/detail/errorCode", json!(["Client.X"])),
            Ignored("errorCode of type array"),
        ),
    ]
}

fn create_field_cases() -> Vec<Case> {
    use Expected::{Ignored, Invalid, Link};
    let other_service = "com.amazonaws.vpce.us-east-1.vpce-svc-0ffffffffffffffff";
    vec![
        case(
            "recipientAccountId path trick",
            set(
                create(),
                "/detail/recipientAccountId",
                json!("111122223333:role/../../admin"),
            ),
            Invalid("detail.recipientAccountId"),
        ),
        case(
            "recipientAccountId wildcard",
            set(create(), "/detail/recipientAccountId", json!("*")),
            Invalid("is not an AWS account id"),
        ),
        case(
            "recipientAccountId object",
            set(create(), "/detail/recipientAccountId", json!({"id": 1})),
            Invalid("detail.recipientAccountId must be a string, got object"),
        ),
        case(
            "recipientAccountId 13 digits",
            set(
                delete(),
                "/detail/recipientAccountId",
                json!("1111222233334"),
            ),
            Invalid("is not an AWS account id"),
        ),
        case(
            "recipientAccountId null uses envelope account",
            set(
                set(create(), "/detail/recipientAccountId", Value::Null),
                "/account",
                json!("11112222333a"),
            ),
            Invalid(r#"account "11112222333a" is not an AWS account id"#),
        ),
        case(
            "recipientAccountId and account missing",
            remove(remove(create(), "/detail/recipientAccountId"), "/account"),
            Invalid("detail.recipientAccountId or account is missing"),
        ),
        case(
            "awsRegion null uses envelope region",
            set(create(), "/detail/awsRegion", Value::Null),
            Link(ENDPOINT),
        ),
        case(
            "awsRegion array uses envelope region",
            set(create(), "/detail/awsRegion", json!(["eu-west-1"])),
            Link(ENDPOINT),
        ),
        case(
            "awsRegion and region null",
            set(
                set(create(), "/detail/awsRegion", Value::Null),
                "/region",
                Value::Null,
            ),
            Invalid("detail.awsRegion or region is missing"),
        ),
        case(
            "awsRegion missing, region array",
            set(
                remove(create(), "/detail/awsRegion"),
                "/region",
                json!(["us-east-1"]),
            ),
            Invalid("detail.awsRegion or region must be a string, got array"),
        ),
        case(
            "awsRegion number",
            set(create(), "/detail/awsRegion", json!(1)),
            Invalid(r#"detail.awsRegion "1" is not an AWS region name"#),
        ),
        case(
            "awsRegion upper case",
            set(create(), "/detail/awsRegion", json!("US-EAST-1")),
            Invalid("is not an AWS region name"),
        ),
        case(
            "awsRegion Atlas spelling",
            set(create(), "/detail/awsRegion", json!("US_EAST_1")),
            Invalid("is not an AWS region name"),
        ),
        case(
            "awsRegion path",
            set(create(), "/detail/awsRegion", json!("us-east-1/../../x")),
            Invalid("is not an AWS region name"),
        ),
        case(
            "awsRegion empty",
            set(create(), "/detail/awsRegion", json!("")),
            Invalid("is not an AWS region name"),
        ),
        case(
            "awsRegion too long",
            set(
                create(),
                "/detail/awsRegion",
                json!(format!("us-east-{}", "1".repeat(100))),
            ),
            Invalid("is not an AWS region name"),
        ),
        case(
            "requestParameters null",
            set(create(), "/detail/requestParameters", Value::Null),
            Link(ENDPOINT),
        ),
        case(
            "requestParameters string",
            set(create(), "/detail/requestParameters", json!("")),
            Link(ENDPOINT),
        ),
        case(
            "CreateVpcEndpointRequest array",
            set(
                create(),
                CREATE_REQUEST,
                json!([{"VpcEndpointType": "Gateway"}]),
            ),
            Link(ENDPOINT),
        ),
        case(
            "responseElements null",
            set(create(), "/detail/responseElements", Value::Null),
            Invalid("responseElements is null"),
        ),
        case(
            "responseElements missing",
            remove(create(), "/detail/responseElements"),
            Invalid("responseElements is null"),
        ),
        case(
            "responseElements string",
            set(create(), "/detail/responseElements", json!("")),
            Invalid("vpcEndpoint is missing"),
        ),
        case(
            "responseElements array",
            set(
                create(),
                "/detail/responseElements",
                json!([create()["detail"]["responseElements"]]),
            ),
            Invalid("vpcEndpoint is missing"),
        ),
        case(
            "CreateVpcEndpointResponse null",
            set(
                create(),
                "/detail/responseElements/CreateVpcEndpointResponse",
                Value::Null,
            ),
            Invalid("vpcEndpoint is missing"),
        ),
        case(
            "vpcEndpoint null",
            set(create(), CREATED, Value::Null),
            Invalid("vpcEndpoint is missing"),
        ),
        case(
            "vpcEndpoint array",
            set(create(), CREATED, json!([create().pointer(CREATED)])),
            Invalid("vpcEndpoint is missing"),
        ),
        case(
            "vpcEndpoint item shape",
            set(
                create(),
                CREATED,
                json!({"item": create().pointer(CREATED)}),
            ),
            Invalid("vpcEndpointId is missing"),
        ),
        case(
            "vpcEndpointId null",
            create_with_id(Value::Null),
            Invalid("vpcEndpointId is missing"),
        ),
        case(
            "vpcEndpointId missing",
            remove(create(), &format!("{CREATED}/vpcEndpointId")),
            Invalid("vpcEndpointId is missing"),
        ),
        case(
            "vpcEndpointId array",
            create_with_id(json!([ENDPOINT])),
            Invalid("vpcEndpointId must be a string, got array"),
        ),
        case(
            "vpcEndpointId tagged item",
            create_with_id(tagged(1, json!(ENDPOINT))),
            Invalid("vpcEndpointId must be a string, got object"),
        ),
        case(
            "vpcEndpointId boolean",
            create_with_id(json!(true)),
            Invalid("vpcEndpointId must be a string, got boolean"),
        ),
        case(
            "vpcEndpointId integer",
            create_with_id(json!(12_345_678_901_234_567u64)),
            Invalid(r#""12345678901234567" is not vpce- and 17 hex digits"#),
        ),
        case(
            "vpcEndpointId float",
            create_with_id(json!(1e300)),
            Invalid("is not vpce- and 17 hex digits"),
        ),
        case(
            "vpcEndpointType null uses request",
            set(create(), &format!("{CREATED}/vpcEndpointType"), Value::Null),
            Link(ENDPOINT),
        ),
        case(
            "vpcEndpointType array, request without type",
            set(
                remove(create(), &format!("{CREATE_REQUEST}/VpcEndpointType")),
                &format!("{CREATED}/vpcEndpointType"),
                json!(["Interface"]),
            ),
            Ignored("type Gateway"),
        ),
        case(
            "vpcEndpointType number",
            set(create(), &format!("{CREATED}/vpcEndpointType"), json!(1)),
            Ignored("type 1"),
        ),
        case(
            "vpcEndpointType lower case",
            set(
                create(),
                &format!("{CREATED}/vpcEndpointType"),
                json!("interface"),
            ),
            Link(ENDPOINT),
        ),
        case(
            "vpcEndpointType NUL byte",
            set(
                create(),
                &format!("{CREATED}/vpcEndpointType"),
                json!("Interface\u{0}"),
            ),
            Ignored("only Interface endpoints"),
        ),
        case(
            "serviceName null uses request",
            set(create(), &format!("{CREATED}/serviceName"), Value::Null),
            Link(ENDPOINT),
        ),
        case(
            "serviceName object, request without name",
            set(
                remove(create(), &format!("{CREATE_REQUEST}/ServiceName")),
                &format!("{CREATED}/serviceName"),
                json!({"name": SERVICE}),
            ),
            Invalid("serviceName is missing"),
        ),
        case(
            "serviceName number",
            set(create(), &format!("{CREATED}/serviceName"), json!(443)),
            Ignored("not a PrivateLink endpoint service"),
        ),
        case(
            "request ServiceName differs from response",
            set(
                create(),
                &format!("{CREATE_REQUEST}/ServiceName"),
                json!(other_service),
            ),
            Link(ENDPOINT),
        ),
        case(
            "vpcId object",
            set(
                create(),
                &format!("{CREATED}/vpcId"),
                json!({"id": "vpc-0123456789abcdef0"}),
            ),
            Link(ENDPOINT),
        ),
        case(
            "detail.vpcEndpointId differs",
            set(create(), "/detail/vpcEndpointId", json!(OTHER_ENDPOINT)),
            Link(ENDPOINT),
        ),
        case(
            "detail.vpcEndpointId path",
            set(
                create(),
                "/detail/vpcEndpointId",
                json!("vpce-../../groups"),
            ),
            Link(ENDPOINT),
        ),
        case(
            "request VpcEndpointId differs",
            set(
                create(),
                &format!("{CREATE_REQUEST}/VpcEndpointId"),
                json!(OTHER_ENDPOINT),
            ),
            Link(ENDPOINT),
        ),
    ]
}

/// Ids that are not `vpce-` and 17 lower-case hex digits, each in the created endpoint's
/// `vpcEndpointId` and in a `DeleteVpcEndpoints` request.
fn malformed_id_cases() -> Vec<Case> {
    let malformed = [
        ("upper-case hex", "vpce-0A1B2C3D4E5F60718"),
        ("one upper-case digit", "vpce-0a1b2c3d4e5f6071B"),
        ("upper-case prefix", "VPCE-0a1b2c3d4e5f60718"),
        ("legacy 8 hex", "vpce-1a2b3c4d"),
        ("16 hex", "vpce-0a1b2c3d4e5f6071"),
        ("18 hex", "vpce-0a1b2c3d4e5f607189"),
        ("non-hex letter", "vpce-0a1b2c3d4e5f6071g"),
        ("prefix only", "vpce-"),
        ("VPC id", "vpc-0a1b2c3d4e5f60718"),
        ("endpoint service id", "vpce-svc-0e1f2a3b4c5d6e7f8"),
        ("path traversal", "vpce-../../groups"),
        ("path after id", "vpce-0a1b2c3d4e5f60718/../../groups"),
        ("query after id", "vpce-0a1b2c3d4e5f60718?envelope=true"),
        ("URL-encoded slash", "vpce-0a1b2c3d4e5f6071%2F"),
        ("URL-encoded traversal", "vpce-%2E%2E%2Fgroups%2F"),
        ("fullwidth digit", "vpce-0a1b2c3d4e5f6071\u{ff18}"),
        ("Cyrillic e", "vpc\u{435}-0a1b2c3d4e5f60718"),
        ("Unicode hyphen", "vpce\u{2010}0a1b2c3d4e5f60718"),
        ("zero-width space", "vpce-0a1b2c3d4e5f6071\u{200b}8"),
        ("NUL in id", "vpce-0a1b2c3d4e5f6071\u{0}"),
        ("NUL after id", "vpce-0a1b2c3d4e5f60718\u{0}"),
        ("leading space", " vpce-0a1b2c3d4e5f60718"),
        ("trailing newline", "vpce-0a1b2c3d4e5f60718\n"),
        ("tab after prefix", "vpce-\t0a1b2c3d4e5f60718"),
    ];
    let mut cases = Vec::new();
    for (label, id) in malformed {
        cases.push(case(
            format!("created id {label}"),
            create_with_id(json!(id)),
            Expected::Invalid("is not vpce- and 17 hex digits"),
        ));
        cases.push(case(
            format!("deleted id {label}"),
            delete_with_ids(json!([tagged(1, json!(ENDPOINT)), tagged(2, json!(id))])),
            Expected::Invalid("is not vpce- and 17 hex digits"),
        ));
    }
    cases.push(case(
        "created id empty",
        create_with_id(json!("")),
        Expected::Invalid(r#"vpcEndpointId "" is not vpce-"#),
    ));
    cases.push(case(
        "deleted id empty",
        delete_with_ids(tagged(1, json!(""))),
        Expected::Invalid("lists no endpoint"),
    ));
    cases
}

fn service_name_cases() -> Vec<Case> {
    let not_endpoint_service = [
        ("AWS service", "com.amazonaws.us-east-1.s3"),
        ("AWS API service", "com.amazonaws.us-east-1.execute-api"),
        ("SageMaker notebook", "aws.sagemaker.us-east-1.notebook"),
        (
            "China partition",
            "cn.com.amazonaws.vpce.cn-north-1.vpce-svc-0e1f2a3b4c5d6e7f8",
        ),
        (
            "trailing dot",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8.",
        ),
        (
            "double dot",
            "com.amazonaws.vpce..us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8",
        ),
        (
            "extra label",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8.example",
        ),
        (
            "upper case",
            "COM.AMAZONAWS.VPCE.US-EAST-1.VPCE-SVC-0E1F2A3B4C5D6E7F8",
        ),
        (
            "upper-case hex",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0E1F2A3B4C5D6E7F8",
        ),
        (
            "Atlas region spelling",
            "com.amazonaws.vpce.US_EAST_1.vpce-svc-0e1f2a3b4c5d6e7f8",
        ),
        (
            "16 hex",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f",
        ),
        (
            "18 hex",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f81",
        ),
        (
            "legacy 8 hex",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b",
        ),
        ("path", "com.amazonaws.vpce.us-east-1.vpce-svc-../../groups"),
        (
            "NUL byte",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8\u{0}",
        ),
        (
            "trailing space",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8 ",
        ),
        ("empty", ""),
    ];
    let mut cases: Vec<Case> = not_endpoint_service
        .into_iter()
        .map(|(label, service)| {
            case(
                format!("service {label}"),
                create_with_service(json!(service)),
                Expected::Ignored("not a PrivateLink endpoint service"),
            )
        })
        .collect();
    // Endpoint services in another region or in GovCloud have the right form. EC2 confirms the
    // name before anything is linked.
    cases.push(case(
        "service in another region",
        create_with_service(json!(
            "com.amazonaws.vpce.eu-west-1.vpce-svc-0e1f2a3b4c5d6e7f8"
        )),
        Expected::Link(ENDPOINT),
    ));
    cases.push(case(
        "service in GovCloud",
        create_with_service(json!(
            "com.amazonaws.vpce.us-gov-west-1.vpce-svc-0e1f2a3b4c5d6e7f8"
        )),
        Expected::Link(ENDPOINT),
    ));
    cases
}

fn delete_field_cases() -> Vec<Case> {
    use Expected::Invalid;
    let deep_id = nest_in_arrays(json!(OTHER_ENDPOINT), 5);
    vec![
        case(
            "VpcEndpointId missing",
            remove(delete(), DELETE_IDS),
            Invalid("lists no endpoint"),
        ),
        case(
            "VpcEndpointId null",
            delete_with_ids(Value::Null),
            Invalid("lists no endpoint"),
        ),
        case(
            "VpcEndpointId empty string",
            delete_with_ids(json!("")),
            Invalid("lists no endpoint"),
        ),
        case(
            "VpcEndpointId empty array",
            delete_with_ids(json!([])),
            Invalid("lists no endpoint"),
        ),
        case(
            "VpcEndpointId nulls",
            delete_with_ids(json!([null, {"tag": 1, "content": null}])),
            Invalid("lists no endpoint"),
        ),
        case(
            "VpcEndpointId plain string",
            delete_with_ids(json!(ENDPOINT)),
            unlink(&[ENDPOINT]),
        ),
        case(
            "VpcEndpointId item list",
            delete_with_ids(json!({"item": [ENDPOINT, OTHER_ENDPOINT]})),
            unlink(&[ENDPOINT, OTHER_ENDPOINT]),
        ),
        case(
            "VpcEndpointId item before content",
            delete_with_ids(json!({"item": ENDPOINT, "content": "vpce-../../groups"})),
            unlink(&[ENDPOINT]),
        ),
        case(
            "VpcEndpointId duplicates",
            delete_with_ids(json!([ENDPOINT, tagged(2, json!(ENDPOINT)), ENDPOINT])),
            unlink(&[ENDPOINT]),
        ),
        case(
            "VpcEndpointId boolean",
            delete_with_ids(json!(true)),
            Invalid("VpcEndpointId contains a value of type boolean"),
        ),
        case(
            "VpcEndpointId number",
            delete_with_ids(json!(7)),
            Invalid(r#""7" is not vpce- and 17 hex digits"#),
        ),
        case(
            "VpcEndpointId tagged boolean",
            delete_with_ids(tagged(1, json!(false))),
            Invalid("VpcEndpointId contains a value of type boolean"),
        ),
        case(
            "VpcEndpointId tag without content",
            delete_with_ids(json!({"tag": 1})),
            Invalid("VpcEndpointId contains a value of type object"),
        ),
        case(
            "VpcEndpointId object",
            delete_with_ids(json!({"id": ENDPOINT})),
            Invalid("VpcEndpointId contains a value of type object"),
        ),
        case(
            "VpcEndpointId at depth limit",
            delete_with_ids(nest_in_arrays(json!(ENDPOINT), 4)),
            unlink(&[ENDPOINT]),
        ),
        case(
            "VpcEndpointId past depth limit",
            delete_with_ids(json!([ENDPOINT, deep_id])),
            Invalid("VpcEndpointId nests lists more than 4 levels deep"),
        ),
        case(
            "DeleteVpcEndpointsRequest null",
            set(delete(), DELETE_REQUEST, Value::Null),
            Invalid("DeleteVpcEndpointsRequest is missing"),
        ),
        case(
            "DeleteVpcEndpointsRequest array",
            set(
                delete(),
                DELETE_REQUEST,
                json!([{"VpcEndpointId": ENDPOINT}]),
            ),
            Invalid("DeleteVpcEndpointsRequest is missing"),
        ),
        case(
            "delete requestParameters string",
            set(delete(), "/detail/requestParameters", json!(ENDPOINT)),
            Invalid("DeleteVpcEndpointsRequest is missing"),
        ),
        case(
            "delete responseElements null",
            set(delete(), "/detail/responseElements", Value::Null),
            Invalid("responseElements is null"),
        ),
        case(
            "delete responseElements array",
            set(
                delete(),
                "/detail/responseElements",
                json!([delete()["detail"]["responseElements"]]),
            ),
            Invalid("DeleteVpcEndpointsResponse is missing"),
        ),
        case(
            "DeleteVpcEndpointsResponse null",
            set(delete(), DELETE_RESPONSE, Value::Null),
            Invalid("DeleteVpcEndpointsResponse is missing"),
        ),
        case(
            "DeleteVpcEndpointsResponse string",
            set(delete(), DELETE_RESPONSE, json!("")),
            Invalid("DeleteVpcEndpointsResponse is missing"),
        ),
        case(
            "unsuccessful null",
            set(delete(), UNSUCCESSFUL, Value::Null),
            unlink(&[ENDPOINT]),
        ),
        case(
            "unsuccessful missing",
            remove(delete(), UNSUCCESSFUL),
            unlink(&[ENDPOINT]),
        ),
        case(
            "unsuccessful empty array",
            set(delete(), UNSUCCESSFUL, json!([])),
            unlink(&[ENDPOINT]),
        ),
        case(
            "unsuccessful lists the id",
            set(
                delete(),
                UNSUCCESSFUL,
                json!({"item": failure(json!(ENDPOINT))}),
            ),
            unlink(&[]),
        ),
        case(
            "unsuccessful lists another id",
            set(
                delete(),
                UNSUCCESSFUL,
                json!({"item": failure(json!(OTHER_ENDPOINT))}),
            ),
            unlink(&[ENDPOINT]),
        ),
        case(
            "unsuccessful resourceId number",
            set(delete(), UNSUCCESSFUL, json!({"item": failure(json!(5))})),
            unlink(&[ENDPOINT]),
        ),
        case(
            "unsuccessful error code array",
            set(
                delete(),
                UNSUCCESSFUL,
                json!({"item": {"resourceId": ENDPOINT, "error": {"code": ["X"]}}}),
            ),
            unlink(&[]),
        ),
        case(
            "unsuccessful lists a malformed id",
            delete_with_unsuccessful(
                json!([ENDPOINT, "vpce-../../groups"]),
                json!({"item": failure(json!("vpce-../../groups"))}),
            ),
            unlink(&[ENDPOINT]),
        ),
        case(
            "unsuccessful item without resourceId",
            set(
                delete(),
                UNSUCCESSFUL,
                json!({"item": {"error": {"code": "DependencyViolation"}}}),
            ),
            Invalid("unsuccessful has an item without a resourceId"),
        ),
        case(
            "unsuccessful resourceId null",
            set(
                delete(),
                UNSUCCESSFUL,
                json!({"item": failure(Value::Null)}),
            ),
            Invalid("unsuccessful has an item without a resourceId"),
        ),
        case(
            "unsuccessful resourceId array",
            set(
                delete(),
                UNSUCCESSFUL,
                json!({"item": failure(json!([ENDPOINT]))}),
            ),
            Invalid("unsuccessful has an item without a resourceId"),
        ),
        case(
            "unsuccessful string item",
            set(delete(), UNSUCCESSFUL, json!({"item": ENDPOINT})),
            Invalid("unsuccessful has an item without a resourceId"),
        ),
        case(
            "unsuccessful number",
            set(delete(), UNSUCCESSFUL, json!(5)),
            Invalid("unsuccessful has an item without a resourceId"),
        ),
        case(
            "unsuccessful boolean",
            set(delete(), UNSUCCESSFUL, json!(true)),
            Invalid("unsuccessful has an item without a resourceId"),
        ),
        case(
            "unsuccessful past depth limit",
            set(
                delete(),
                UNSUCCESSFUL,
                nest_in_arrays(failure(json!(ENDPOINT)), 5),
            ),
            Invalid("unsuccessful nests lists more than 4 levels deep"),
        ),
    ]
}

/// Builds `HUGE` ids of the form `{"tag": n, "content": id}`, as in a `DeleteVpcEndpoints`
/// request.
fn tagged_ids() -> Vec<Value> {
    endpoint_ids(HUGE)
        .into_iter()
        .enumerate()
        .map(|(n, id)| tagged(n + 1, json!(id)))
        .collect()
}

/// Builds `unsuccessful` items for `HUGE` ids.
fn failures() -> Vec<Value> {
    endpoint_ids(HUGE)
        .into_iter()
        .map(|id| failure(json!(id)))
        .collect()
}

/// Returns builders of the cases with oversized arrays and strings. Each case is built only when
/// it runs, so that only one of them is in memory at a time.
fn huge_array_cases() -> Vec<fn() -> Case> {
    use Expected::{Ignored, Invalid, Link, Unlink};
    vec![
        || {
            case(
                "100,000 distinct ids",
                delete_with_ids(Value::Array(tagged_ids())),
                Unlink(endpoint_ids(HUGE)),
            )
        },
        || {
            case(
                "100,000 copies of one id",
                delete_with_ids(Value::Array(vec![json!(ENDPOINT); HUGE])),
                unlink(&[ENDPOINT]),
            )
        },
        || {
            let mut ids = tagged_ids();
            ids.push(tagged(HUGE + 1, json!("vpce-../../groups")));
            case(
                "100,000 ids then a malformed one",
                delete_with_ids(Value::Array(ids)),
                Invalid(r#""vpce-../../groups" is not vpce-"#),
            )
        },
        || {
            let unsuccessful = json!({"item": Value::Array(failures())});
            case(
                "100,000 ids all unsuccessful",
                delete_with_unsuccessful(Value::Array(tagged_ids()), unsuccessful),
                unlink(&[]),
            )
        },
        || {
            case(
                "100,000 unsuccessful other ids",
                delete_with_unsuccessful(tagged(1, json!(ENDPOINT)), Value::Array(failures())),
                unlink(&[ENDPOINT]),
            )
        },
        || {
            case(
                "100,000 nulls",
                delete_with_ids(Value::Array(vec![Value::Null; HUGE])),
                Invalid("lists no endpoint"),
            )
        },
        || {
            case(
                "100,000 malformed ids",
                delete_with_ids(Value::Array(vec![json!("vpce-1a2b3c4d"); HUGE])),
                Invalid(r#""vpce-1a2b3c4d" is not vpce-"#),
            )
        },
        || {
            let mut event = create();
            let detail = event["detail"].as_object_mut().unwrap();
            for n in 0..HUGE {
                detail.insert(format!("extra{n}"), json!(n));
            }
            case("100,000 keys in detail", event, Link(ENDPOINT))
        },
        || {
            case(
                "1 MiB vpcEndpointId",
                create_with_id(json!(format!("vpce-{}", "a".repeat(1 << 20)))),
                Invalid("is not vpce- and 17 hex digits"),
            )
        },
        || {
            case(
                "1 MiB serviceName",
                create_with_service(json!(format!(
                    "com.amazonaws.vpce.us-east-1.vpce-svc-{}",
                    "0".repeat(1 << 20)
                ))),
                Ignored("not a PrivateLink endpoint service"),
            )
        },
    ]
}

fn deep_nesting_cases() -> Vec<Case> {
    use Expected::{Ignored, Invalid, Link};
    // The envelope and detail objects hold `detail.userIdentity`, and two more objects hold
    // `VpcEndpointId`, so these depths make events exactly as deep as serde_json parses.
    let user_identity_depth = MAX_PARSED_NESTING - 2;
    let endpoint_ids_depth = MAX_PARSED_NESTING - 4;
    vec![
        case(
            "event in 100,000 arrays",
            nest_in_arrays(create(), DEEP),
            Invalid("expected a JSON object, got array"),
        ),
        case(
            "source in 100,000 arrays",
            set(create(), "/source", nest_in_arrays(json!("aws.ec2"), DEEP)),
            Invalid("source must be a string, got array"),
        ),
        case(
            "detail in 100,000 arrays",
            set(
                create(),
                "/detail",
                nest_in_arrays(create()["detail"].take(), DEEP),
            ),
            Invalid("detail must be an object, got array"),
        ),
        case(
            "errorCode in 100,000 objects",
            set(
                create(),
                "/detail/errorCode",
                nest_in_objects(json!("Client.X"), "code", DEEP),
            ),
            Ignored("errorCode of type object"),
        ),
        case(
            "errorCode in 100,000 arrays",
            set(
                delete(),
                "/detail/errorCode",
                nest_in_arrays(json!("Client.X"), DEEP),
            ),
            Ignored("errorCode of type array"),
        ),
        case(
            "userIdentity 100,000 deep",
            set(
                create(),
                "/detail/userIdentity",
                nest_in_objects(json!("x"), "sessionContext", DEEP),
            ),
            Link(ENDPOINT),
        ),
        case(
            "userIdentity at parser limit",
            set(
                create(),
                "/detail/userIdentity",
                nest_in_objects(json!("x"), "sessionContext", user_identity_depth),
            ),
            Link(ENDPOINT),
        ),
        case(
            "awsRegion in 100,000 arrays",
            set(
                create(),
                "/detail/awsRegion",
                nest_in_arrays(json!("us-east-1"), DEEP),
            ),
            Link(ENDPOINT),
        ),
        case(
            "vpcEndpointId in 100,000 arrays",
            create_with_id(nest_in_arrays(json!(ENDPOINT), DEEP)),
            Invalid("vpcEndpointId must be a string, got array"),
        ),
        case(
            "vpcEndpointType in 100,000 arrays",
            set(
                remove(create(), &format!("{CREATE_REQUEST}/VpcEndpointType")),
                &format!("{CREATED}/vpcEndpointType"),
                nest_in_arrays(json!("Interface"), DEEP),
            ),
            Ignored("type Gateway"),
        ),
        case(
            "serviceName in 100,000 arrays",
            set(
                remove(create(), &format!("{CREATE_REQUEST}/ServiceName")),
                &format!("{CREATED}/serviceName"),
                nest_in_arrays(json!(SERVICE), DEEP),
            ),
            Invalid("serviceName is missing"),
        ),
        case(
            "VpcEndpointId in 100,000 arrays",
            delete_with_ids(nest_in_arrays(json!(ENDPOINT), DEEP)),
            Invalid("VpcEndpointId nests lists more than 4 levels deep"),
        ),
        case(
            "VpcEndpointId in 100,000 items",
            delete_with_ids(nest_in_objects(json!(ENDPOINT), "item", DEEP)),
            Invalid("VpcEndpointId nests lists more than 4 levels deep"),
        ),
        case(
            "VpcEndpointId in 100,000 contents",
            delete_with_ids(nest_in_objects(json!(ENDPOINT), "content", DEEP)),
            Invalid("VpcEndpointId nests lists more than 4 levels deep"),
        ),
        case(
            "VpcEndpointId at parser limit",
            delete_with_ids(nest_in_arrays(json!(ENDPOINT), endpoint_ids_depth)),
            Invalid("VpcEndpointId nests lists more than 4 levels deep"),
        ),
        case(
            "unsuccessful in 100,000 arrays",
            set(
                delete(),
                UNSUCCESSFUL,
                nest_in_arrays(failure(json!(ENDPOINT)), DEEP),
            ),
            Invalid("unsuccessful nests lists more than 4 levels deep"),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn envelope_fields() {
    check_all(envelope_cases()).await;
}

#[tokio::test]
async fn create_fields() {
    check_all(create_field_cases()).await;
}

#[tokio::test]
async fn malformed_endpoint_ids() {
    check_all(malformed_id_cases()).await;
}

#[tokio::test]
async fn malformed_service_names() {
    check_all(service_name_cases()).await;
}

#[tokio::test]
async fn delete_fields() {
    check_all(delete_field_cases()).await;
}

#[tokio::test]
async fn huge_arrays() {
    let mut names = HashSet::new();
    for build in huge_array_cases() {
        let case = build();
        assert!(names.insert(case.name.clone()), "duplicate {}", case.name);
        check(case).await;
    }
}

#[tokio::test]
async fn deep_nesting() {
    check_all(deep_nesting_cases()).await;
}

#[test]
fn parser_nesting_limit() {
    let parse = |depth: usize| {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        serde_json::from_str::<Value>(&text)
    };
    assert!(parse(MAX_PARSED_NESTING).is_ok());
    let error = parse(MAX_PARSED_NESTING + 1).expect_err("one level past the limit");
    assert!(
        error.to_string().contains("recursion limit exceeded"),
        "{error}"
    );
}

#[test]
fn nesting_depth_counts_containers() {
    assert_eq!(nesting_depth(&json!("x")), 0);
    assert_eq!(nesting_depth(&json!([])), 1);
    assert_eq!(nesting_depth(&json!({"a": [1, {"b": []}]})), 4);
    assert_eq!(nesting_depth(&nest_in_arrays(json!(1), 5)), 5);
}

#[test]
fn endpoint_id_pattern() {
    assert!(matches_endpoint_id(ENDPOINT));
    for text in [
        "vpce-0A1B2C3D4E5F60718",
        "vpce-0a1b2c3d4e5f6071",
        "vpce-0a1b2c3d4e5f607189",
        "vpce-0a1b2c3d4e5f6071\u{ff18}",
        "xvpce-0a1b2c3d4e5f60718",
    ] {
        assert!(!matches_endpoint_id(text), "{text:?}");
    }
}
