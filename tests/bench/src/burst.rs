//! A burst of create events, one per new endpoint, through one event-function process.

use std::time::{Duration, Instant};

use e2e::{PROJECT_ID, REGION, SERVICE_NAME};
use harness::Ec2Fixtures;

use crate::report::{Row, mebibytes, millis};
use crate::setup::{self, Credentials, Setup};
use crate::traffic::AtlasKind;

/// A second Atlas project with its own endpoint service, so the listing target is checked per
/// project.
const SECOND_PROJECT_ID: &str = "6a2b3c4d5e6f7a8b9c0d1e2f";
const SECOND_SERVICE_NAME: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0f1e2d3c4b5a69788";
/// The service id in the sample event, which the burst replaces for the second service.
const SAMPLE_SERVICE_ID: &str = "vpce-svc-0e1f2a3b4c5d6e7f8";

/// Target: at most one access token for the whole burst.
const MAX_TOKENS: usize = 1;

pub struct Burst {
    pub rows: Vec<Row>,
    /// Time taken to create the endpoints in moto, which the burst's wall time leaves out.
    pub setup_time: Duration,
}

/// Creates `events` endpoints in moto, half to each of two projects' endpoint services, then
/// sends one create event per endpoint, one after another, to one fresh process with
/// service-account credentials and both projects configured.
pub async fn measure(setup: &Setup, events: usize) -> Result<Burst, String> {
    let sandbox = &setup.sandbox;
    sandbox
        .sim
        .add_endpoint_service(SECOND_PROJECT_ID, "US_EAST_1", SECOND_SERVICE_NAME);
    let services = [SERVICE_NAME, SECOND_SERVICE_NAME];

    let created = Instant::now();
    let mut endpoints = Vec::with_capacity(events);
    for index in 0..events {
        let service = services[index % services.len()];
        let id = sandbox
            .moto
            .create_interface_endpoint(REGION, &sandbox.vpc_id, &sandbox.subnets[..1], service)
            .await
            .map_err(|e| format!("failed to create endpoint {index} in moto: {e}"))?;
        endpoints.push((id, service));
    }
    let setup_time = created.elapsed();

    let mut env = setup.env(Credentials::ServiceAccount);
    let projects = format!("{PROJECT_ID},{SECOND_PROJECT_ID}");
    setup::set(&mut env, "ATLAS_PROJECT_IDS", &projects);
    let function = setup::spawn_ready(&setup.binaries.events, &env).await?;

    let mark = setup.mark();
    let started = Instant::now();
    for (id, service) in &endpoints {
        let mut event = setup.create_event(id);
        if *service == SECOND_SERVICE_NAME {
            let second_id = service.rsplit('.').next().unwrap_or_default();
            event = harness::events::rewrite_ids(&event, [(SAMPLE_SERVICE_ID, second_id)]);
        }
        setup::invoke_expecting(&function, &event, "linked").await?;
    }
    let wall_time = started.elapsed();
    let traffic = setup.traffic_since(mark);
    let peak = setup::peak_resident_bytes(setup::pid(&function)?)?;
    drop(function);

    let listings = traffic.atlas_count(AtlasKind::Listing);
    let tokens = traffic.atlas_count(AtlasKind::Token);
    let writes = traffic.atlas_count(AtlasKind::LinkWrite);
    let projects = services.len();
    let per_event = wall_time / u32::try_from(events.max(1)).unwrap_or(u32::MAX);
    let rows = vec![
        Row::context(
            format!("wall time, {events} creates"),
            format!("{:.2} s", wall_time.as_secs_f64()),
        )
        .with_detail(format!("mean {} per event", millis(per_event))),
        Row::at_most(
            format!("endpoint-service listings, {projects} projects"),
            listings.to_string(),
            listings as f64 / projects as f64,
            1.0,
            "<= 1 per project",
        ),
        Row::at_most(
            "token requests",
            tokens.to_string(),
            tokens as f64,
            MAX_TOKENS as f64,
            format!("<= {MAX_TOKENS}"),
        ),
        Row::context("link writes", writes.to_string())
            .with_detail(format!("1 per event is the minimum, {events} here")),
        Row::context("all requests", traffic.total().to_string()).with_detail(traffic.breakdown()),
        Row::context("linker-events peak RSS after the burst", mebibytes(peak)),
    ];
    Ok(Burst { rows, setup_time })
}
