//! Network requests per event and the peak memory of a function that handles a create event.

use e2e::REGION;
use harness::{Ec2Fixtures, FunctionProcess};
use serde_json::Value;

use crate::report::{MIB, Row, mebibytes};
use crate::setup::{self, Credentials, Setup};
use crate::traffic::Traffic;

/// Target for a warm create: the EC2 read, the Atlas link write and the EC2 tag.
pub const MAX_WARM_CREATE_REQUESTS: usize = 3;

/// Target for the peak resident memory of one process that handled a create event.
pub const MAX_PEAK_MEMORY_MIB: f64 = 24.0;

pub struct PerEvent {
    pub requests: Vec<Row>,
    pub memory: Vec<Row>,
}

/// Runs each event through a fresh process per credential kind and counts its requests.
///
/// With service-account credentials in the environment: a cold create (the first event of the
/// process), a warm create (the second), and a delete of the first endpoint. With an API key: a
/// cold and a warm create. With credentials in Secrets Manager: a cold create. The peak memory
/// is read from the service-account process after its cold create, and from the hello-world
/// function after it returned the same event.
pub async fn measure(setup: &Setup) -> Result<PerEvent, String> {
    let mut requests = Vec::new();

    let function = setup::spawn_ready(
        &setup.binaries.events,
        &setup.env(Credentials::ServiceAccount),
    )
    .await?;
    let first = setup.create_endpoint().await;
    let cold = create(setup, &function, &first).await?;
    let peak = setup::peak_resident_bytes(setup::pid(&function)?)?;
    requests.push(context_row("cold create, service account", &cold));
    let warm = create(setup, &function, &setup.create_endpoint().await).await?;
    requests.push(warm_row("warm create, service account", &warm));
    let deleted = delete(setup, &function, &first).await?;
    requests.push(context_row("delete, service account", &deleted));
    drop(function);

    let function =
        setup::spawn_ready(&setup.binaries.events, &setup.env(Credentials::ApiKey)).await?;
    let cold = create(setup, &function, &setup.create_endpoint().await).await?;
    requests.push(context_row("cold create, API key", &cold));
    let warm = create(setup, &function, &setup.create_endpoint().await).await?;
    requests.push(warm_row("warm create, API key", &warm));
    drop(function);

    let function =
        setup::spawn_ready(&setup.binaries.events, &setup.env(Credentials::Secret)).await?;
    let cold = create(setup, &function, &setup.create_endpoint().await).await?;
    requests.push(context_row("cold create, secret", &cold));
    drop(function);

    let floor = hello_peak(setup).await?;
    let memory = vec![memory_row(
        "linker-events peak RSS after a create",
        peak,
        floor,
    )];
    Ok(PerEvent { requests, memory })
}

async fn create(
    setup: &Setup,
    function: &FunctionProcess,
    endpoint: &str,
) -> Result<Traffic, String> {
    let mark = setup.mark();
    setup::invoke_expecting(function, &setup.create_event(endpoint), "linked").await?;
    Ok(setup.traffic_since(mark))
}

/// Deletes the endpoint in moto, then sends the function the delete event.
async fn delete(
    setup: &Setup,
    function: &FunctionProcess,
    endpoint: &str,
) -> Result<Traffic, String> {
    setup
        .sandbox
        .moto
        .delete_endpoints(REGION, &[endpoint.to_owned()])
        .await
        .map_err(|e| format!("failed to delete {endpoint} in moto: {e}"))?;
    let event = setup.sandbox.event("delete-one", &[endpoint]);
    let mark = setup.mark();
    setup::invoke_expecting(function, &event, "unlinked").await?;
    Ok(setup.traffic_since(mark))
}

/// Returns the peak resident memory of the hello-world function after it returned the create
/// event.
async fn hello_peak(setup: &Setup) -> Result<u64, String> {
    let env = setup.env(Credentials::ServiceAccount);
    let function = setup::spawn_ready(&setup.binaries.hello, &env).await?;
    let event: Value = setup.create_event("vpce-0a1b2c3d4e5f60718");
    setup::invoke(&function, &event).await?;
    setup::peak_resident_bytes(setup::pid(&function)?)
}

fn context_row(figure: &str, traffic: &Traffic) -> Row {
    Row::context(figure, traffic.total().to_string()).with_detail(traffic.breakdown())
}

fn warm_row(figure: &str, traffic: &Traffic) -> Row {
    let total = traffic.total();
    Row::at_most(
        figure,
        total.to_string(),
        total as f64,
        MAX_WARM_CREATE_REQUESTS as f64,
        format!("<= {MAX_WARM_CREATE_REQUESTS}"),
    )
    .with_detail(traffic.breakdown())
}

pub fn memory_row(figure: &str, peak: u64, floor: u64) -> Row {
    let peak_mib = peak as f64 / MIB;
    Row::at_most(
        figure,
        mebibytes(peak),
        peak_mib,
        MAX_PEAK_MEMORY_MIB,
        format!("<= {MAX_PEAK_MEMORY_MIB} MiB"),
    )
    .with_floor(mebibytes(floor), peak as f64 / floor as f64)
}
