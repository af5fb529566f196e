//! Atlas Admin API v2 simulator for AWS PrivateLink.
//!
//! [`Simulator::start`] serves the private endpoint routes of the Atlas Admin
//! API on `127.0.0.1`: list and read endpoint services, and link, read and
//! unlink interface endpoints. It authenticates with Digest and OAuth as Atlas
//! does, and its `/_sim/…` admin routes let other processes control it. End-to-end tests use it in-process; the `atlas-sim` binary
//! wraps it for the local demo. See `README.md` beside this crate for the
//! behaviour that clients rely on.

mod admin;
mod auth;
mod ec2;
mod error;
mod faults;
mod routes;
mod state;
mod traffic;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use auth::{AuthKind, AuthMode, DIGEST_REALM};
pub use error::ERROR_CODE_HEADER;
pub use faults::{Fault, FaultKind, FaultMatcher, FaultSpec};
pub use state::{ConnectionStatus, LinkSnapshot, ProjectSnapshot, ServiceSnapshot};
pub use traffic::RequestRecord;

use auth::Authenticator;
use ec2::Ec2Checker;
use faults::FaultQueue;
use state::{AddServiceError, Timing, World};

/// The only media type that the private endpoint routes serve. Requests must
/// name it in `Accept`.
pub const ATLAS_MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";

/// Path of the OAuth 2 token endpoint.
pub const TOKEN_PATH: &str = "/api/oauth/token";

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub auth: AuthMode,
    /// Time a new link stays PENDING_ACCEPTANCE before the simulator
    /// decides on it.
    pub accept_delay: Duration,
    /// Time an unlinked endpoint stays DELETING before it reads as 404.
    pub delete_delay: Duration,
    /// EC2-compatible endpoint URL (for example moto). When set, a due link
    /// becomes AVAILABLE only if EC2 reports the `vpce-` id as live and
    /// attached to the endpoint service, and REJECTED otherwise.
    pub ec2_endpoint: Option<String>,
    /// Accounts searched for the endpoint after the one of the simulator's
    /// own credentials, through the role `atlas-sim-reader` in each.
    pub ec2_accounts: Vec<String>,
    /// AWS regions (`eu-west-1`) searched for the endpoint after the endpoint
    /// service's own, for cross-region PrivateLink.
    pub ec2_regions: Vec<String>,
    /// Lifetime of OAuth access tokens, which `expires_in` reports in seconds.
    pub token_ttl: Duration,
    /// Lifetime of Digest nonces. A request with an older nonce gets a new
    /// challenge with `stale=true`.
    pub nonce_ttl: Duration,
}

impl Default for SimConfig {
    /// Digest key `public`/`private`, no delays, no EC2 lookup, tokens valid
    /// for 3600 s and nonces for 300 s.
    fn default() -> Self {
        Self {
            auth: AuthMode::Digest {
                public_key: "public".to_owned(),
                private_key: "private".to_owned(),
            },
            accept_delay: Duration::ZERO,
            delete_delay: Duration::ZERO,
            ec2_endpoint: None,
            ec2_accounts: Vec::new(),
            ec2_regions: Vec::new(),
            token_ttl: Duration::from_secs(3600),
            nonce_ttl: Duration::from_secs(300),
        }
    }
}

/// Handle to a running simulator. Clones share the same server and state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

struct Inner {
    address: SocketAddr,
    timing: Timing,
    auth: Authenticator,
    ec2: Option<Ec2Checker>,
    world: Mutex<World>,
    faults: Mutex<FaultQueue>,
    requests: Mutex<Vec<RequestRecord>>,
    shutdown: watch::Sender<bool>,
}

impl Simulator {
    /// Starts the server on an ephemeral port of `127.0.0.1`.
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        Self::start_on_port(config, 0).await
    }

    /// Starts the server on `127.0.0.1:port`. Port 0 picks a free port.
    pub async fn start_on_port(config: SimConfig, port: u16) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let address = listener.local_addr()?;
        let (shutdown, mut shutdown_requested) = watch::channel(false);
        let simulator = Simulator {
            inner: Arc::new(Inner {
                address,
                timing: Timing {
                    accept_delay: config.accept_delay,
                    delete_delay: config.delete_delay,
                    ec2_check: config.ec2_endpoint.is_some(),
                },
                auth: Authenticator::new(config.auth, config.nonce_ttl, config.token_ttl),
                ec2: config
                    .ec2_endpoint
                    .map(|url| Ec2Checker::new(url, config.ec2_accounts, config.ec2_regions)),
                world: Mutex::new(World::default()),
                faults: Mutex::new(FaultQueue::default()),
                requests: Mutex::new(Vec::new()),
                shutdown,
            }),
        };

        let app = routes::router(simulator.clone());
        tokio::spawn(async move {
            let stop = async move {
                // An error means every sender is gone, which also means stop.
                let _ = shutdown_requested.wait_for(|stop| *stop).await;
            };
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await;
            if let Err(error) = served {
                tracing::error!(%error, %address, "simulator server failed");
            }
        });
        tracing::info!(%address, "simulator started");
        Ok(simulator)
    }

    /// Stops accepting connections. Open connections finish their requests.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.inner.address
    }

    /// Adds a project with no endpoint services, so that listing its
    /// services returns `[]` rather than 404.
    ///
    /// # Panics
    /// If `project_id` is not 24 lower-case hex digits.
    pub fn add_project(&self, project_id: &str) {
        assert_hex_id("project id", project_id);
        lock(&self.inner.world).add_project(project_id);
    }

    /// Adds an AVAILABLE AWS endpoint service with a random id, creating the
    /// project if needed, and returns the 24-hex service id.
    ///
    /// # Panics
    /// If `project_id` is malformed or the project already has a service in
    /// `region_name` (Atlas allows one per project and region).
    pub fn add_endpoint_service(
        &self,
        project_id: &str,
        region_name: &str,
        endpoint_service_name: &str,
    ) -> String {
        self.try_add_endpoint_service(project_id, region_name, endpoint_service_name, None)
            .unwrap_or_else(|message| panic!("{message}"))
    }

    /// Same as [`Simulator::add_endpoint_service`] with a chosen service id.
    ///
    /// # Panics
    /// If an id is malformed, the service id is taken, or the project
    /// already has a service in `region_name`.
    pub fn add_endpoint_service_with_id(
        &self,
        project_id: &str,
        region_name: &str,
        endpoint_service_name: &str,
        service_id: &str,
    ) {
        let added = self.try_add_endpoint_service(
            project_id,
            region_name,
            endpoint_service_name,
            Some(service_id),
        );
        if let Err(message) = added {
            panic!("{message}");
        }
    }

    /// Adds an AVAILABLE AWS endpoint service and returns its id, which is
    /// `service_id` or a random one. Returns an error message instead of
    /// panicking on the cases listed for
    /// [`Simulator::add_endpoint_service_with_id`].
    pub fn try_add_endpoint_service(
        &self,
        project_id: &str,
        region_name: &str,
        endpoint_service_name: &str,
        service_id: Option<&str>,
    ) -> Result<String, String> {
        let service_id = service_id.map_or_else(random_object_id, str::to_owned);
        if !routes::is_object_id(project_id) {
            return Err(format!(
                "invalid project id {project_id:?}: expected 24 lower-case hex digits"
            ));
        }
        if !routes::is_object_id(&service_id) {
            return Err(format!(
                "invalid service id {service_id:?}: expected 24 lower-case hex digits"
            ));
        }
        let added = lock(&self.inner.world).add_service(
            project_id,
            region_name,
            endpoint_service_name,
            service_id.clone(),
        );
        match added {
            Ok(()) => {
                tracing::info!(
                    project_id,
                    region_name,
                    endpoint_service_name,
                    service_id,
                    "endpoint service added"
                );
                Ok(service_id)
            }
            Err(AddServiceError::DuplicateId) => Err(format!(
                "endpoint service id {service_id} is already in use"
            )),
            Err(AddServiceError::DuplicateRegion { existing_id }) => Err(format!(
                "project {project_id} already has endpoint service {existing_id} \
                 in region {region_name}"
            )),
        }
    }

    /// Inserts or replaces a link with the given status, as if it had been
    /// created earlier. A seeded PENDING_ACCEPTANCE or PENDING link moves on
    /// after the accept delay, and a DELETING one disappears after the
    /// delete delay.
    ///
    /// # Panics
    /// If the project or endpoint service does not exist.
    pub fn link_directly(
        &self,
        project_id: &str,
        service_id: &str,
        vpce_id: &str,
        status: ConnectionStatus,
    ) {
        if let Err(message) = self.try_link_directly(project_id, service_id, vpce_id, status) {
            panic!("{message}");
        }
    }

    pub(crate) fn try_link_directly(
        &self,
        project_id: &str,
        service_id: &str,
        vpce_id: &str,
        status: ConnectionStatus,
    ) -> Result<LinkSnapshot, String> {
        let seeded = lock(&self.inner.world).seed_link(
            project_id,
            service_id,
            vpce_id,
            status,
            Instant::now(),
        );
        seeded
            .map_err(|_| format!("endpoint service {service_id} of project {project_id} not found"))
    }

    /// Returns the links of an endpoint service after applying the due
    /// time-based transitions, or an empty list if the service does not exist.
    ///
    /// NOTE: this does not run EC2 lookups, so with `ec2_endpoint` set a due
    /// link still reads PENDING_ACCEPTANCE here until an API read or
    /// [`Simulator::settled_links`] has decided it.
    pub fn links(&self, project_id: &str, service_id: &str) -> Vec<LinkSnapshot> {
        let mut world = lock(&self.inner.world);
        world.settle(Instant::now(), self.inner.timing);
        world
            .service(project_id, service_id)
            .map(|service| service.link_snapshots())
            .unwrap_or_default()
    }

    /// Same as [`Simulator::links`], after running the EC2 lookups that are
    /// due.
    pub async fn settled_links(&self, project_id: &str, service_id: &str) -> Vec<LinkSnapshot> {
        self.settle().await;
        self.links(project_id, service_id)
    }

    /// Returns every project with its services and links, after applying the
    /// due transitions and EC2 lookups.
    pub async fn state(&self) -> Vec<ProjectSnapshot> {
        self.settle().await;
        lock(&self.inner.world).snapshot()
    }

    /// Requests to the Atlas API and the token endpoint, oldest first.
    /// Admin routes are not recorded.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.inner.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    /// Number of recorded requests to the token endpoint, failed ones included.
    pub fn token_requests(&self) -> usize {
        lock(&self.inner.requests)
            .iter()
            .filter(|r| r.path.split('?').next() == Some(TOKEN_PATH))
            .count()
    }

    /// Queues a fault. Faults apply in the order they were injected.
    pub fn inject_fault(&self, fault: Fault) {
        tracing::info!(?fault, "fault injected");
        lock(&self.inner.faults).push(fault);
    }

    /// Faults that still have uses left.
    pub fn pending_faults(&self) -> Vec<Fault> {
        lock(&self.inner.faults).pending()
    }

    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Removes all projects, services, links, faults, recorded requests,
    /// issued tokens and nonces.
    pub fn reset(&self) {
        *lock(&self.inner.world) = World::default();
        self.clear_faults();
        self.clear_requests();
        self.inner.auth.reset();
        tracing::info!("simulator reset");
    }

    /// Applies the due transitions and runs the due EC2 lookups.
    ///
    /// NOTE: API requests wait for these lookups, so an EC2 endpoint that
    /// does not respond delays each request by up to the 10 s operation
    /// timeout per due link.
    pub(crate) async fn settle(&self) {
        let checks = lock(&self.inner.world).settle(Instant::now(), self.inner.timing);
        let Some(ec2) = &self.inner.ec2 else {
            return;
        };
        for check in checks {
            let decided = ec2
                .decide(
                    &check.region_name,
                    &check.vpce_id,
                    &check.endpoint_service_name,
                )
                .await;
            match decided {
                Ok(acceptance) => {
                    let status = lock(&self.inner.world).apply_acceptance(
                        &check,
                        acceptance,
                        Instant::now(),
                    );
                    if let Some(status) = status {
                        tracing::info!(
                            project_id = check.project_id,
                            service_id = check.service_id,
                            vpce_id = check.vpce_id,
                            %status,
                            "link decided by EC2 lookup"
                        );
                    }
                }
                Err(error) => tracing::warn!(
                    %error,
                    vpce_id = check.vpce_id,
                    region_name = check.region_name,
                    "EC2 lookup failed, so the link stays PENDING_ACCEPTANCE"
                ),
            }
        }
    }

    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.inner.world)
    }

    pub(crate) fn authenticator(&self) -> &Authenticator {
        &self.inner.auth
    }

    pub(crate) fn fault_queue(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.inner.faults)
    }

    pub(crate) fn record(&self, record: RequestRecord) {
        lock(&self.inner.requests).push(record);
    }
}

/// Locks a mutex and ignores poisoning, because every critical section leaves
/// the data consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Random 24-hex id in the form of a MongoDB ObjectId.
fn random_object_id() -> String {
    rand::random::<[u8; 12]>()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn assert_hex_id(what: &str, id: &str) {
    assert!(
        routes::is_object_id(id),
        "invalid {what} {id:?}: expected 24 lower-case hex digits"
    );
}
