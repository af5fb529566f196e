//! A local sandbox for end-to-end tests: moto for EC2 and Secrets Manager, the Atlas simulator,
//! one Atlas project with an endpoint service, and the compiled event function started through
//! the local Lambda Runtime API.

use std::time::Duration;

use atlas_sim::{AuthMode, SimConfig, Simulator};
use harness::{Ec2Fixtures, FunctionProcess, Invocation, Moto};
use serde_json::Value;

pub const REGION: &str = "us-east-1";
pub const PROJECT_ID: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";
pub const SERVICE_NAME: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8";
pub const PUBLIC_KEY: &str = "e2epublic";
pub const PRIVATE_KEY: &str = "e2e-private-key-5b0c7a";
pub const CLIENT_ID: &str = "mdb_sa_id_e2e";
pub const CLIENT_SECRET: &str = "mdb_sa_sk_e2e-secret-91f3";

/// An account other than the function's, whose endpoints the function reads through an assumed
/// role. The simulator searches it too, because Atlas receives connections from every account.
pub const OTHER_ACCOUNT: &str = "444455556666";

/// A region other than the endpoint service's, for cross-region PrivateLink. The simulator
/// searches it too.
pub const OTHER_REGION: &str = "eu-west-1";

/// The ids the sample events use, which tests replace with the ones moto creates.
pub const SAMPLE_VPC: &str = "vpc-0123456789abcdef0";
pub const SAMPLE_ENDPOINTS: [&str; 2] = ["vpce-0a1b2c3d4e5f60718", "vpce-0b2c3d4e5f6071829"];

/// The running sandbox. Everything stops when it is dropped.
pub struct Sandbox {
    pub moto: Moto,
    pub sim: Simulator,
    pub service_id: String,
    pub vpc_id: String,
    pub subnets: Vec<String>,
}

impl Sandbox {
    /// Starts moto and the simulator (Digest and OAuth credentials both accepted) with one
    /// project and one endpoint service, and a VPC with three subnets in moto.
    pub async fn start() -> Sandbox {
        Self::start_with_auth(AuthMode::Both {
            public_key: PUBLIC_KEY.into(),
            private_key: PRIVATE_KEY.into(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        })
        .await
    }

    /// Same as [`Sandbox::start`], with a simulator that accepts only the credentials in `auth`.
    pub async fn start_with_auth(auth: AuthMode) -> Sandbox {
        Self::start_with(auth, Duration::ZERO).await
    }

    /// Same as [`Sandbox::start_with_auth`], with a simulator that accepts new links only after
    /// `accept_delay`.
    pub async fn start_with(auth: AuthMode, accept_delay: Duration) -> Sandbox {
        let moto = Moto::start().await.expect("moto starts");
        let config = SimConfig {
            auth,
            accept_delay,
            ec2_endpoint: Some(moto.endpoint_url().to_owned()),
            ec2_accounts: vec![OTHER_ACCOUNT.to_owned()],
            ec2_regions: vec![OTHER_REGION.to_owned()],
            ..SimConfig::default()
        };
        let sim = Simulator::start(config).await.expect("simulator starts");
        let service_id = sim.add_endpoint_service(PROJECT_ID, "US_EAST_1", SERVICE_NAME);
        let (vpc_id, subnets) = moto
            .create_vpc_with_subnets(REGION, 3)
            .await
            .expect("VPC created");
        Sandbox {
            moto,
            sim,
            service_id,
            vpc_id,
            subnets,
        }
    }

    /// Creates an interface endpoint to the Atlas endpoint service in moto.
    pub async fn create_endpoint(&self, subnets: usize) -> String {
        self.moto
            .create_interface_endpoint(REGION, &self.vpc_id, &self.subnets[..subnets], SERVICE_NAME)
            .await
            .expect("interface endpoint created")
    }

    /// Creates a VPC and an interface endpoint to the Atlas endpoint service in `account`, and
    /// returns the VPC id and the endpoint id.
    pub async fn create_endpoint_in(&self, account: &str) -> (String, String) {
        new_endpoint(&self.moto.account(account), REGION).await
    }

    /// Creates a VPC and an interface endpoint to the Atlas endpoint service (in [`REGION`]) in
    /// another region of moto's default account, as cross-region PrivateLink does, and returns
    /// the VPC id and the endpoint id.
    pub async fn create_endpoint_in_region(&self, region: &str) -> (String, String) {
        new_endpoint(&self.moto, region).await
    }

    /// Returns the function's environment, with API-key credentials in environment variables.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = self.moto.function_env(REGION);
        env.extend(
            [
                ("ATLAS_PROJECT_IDS", PROJECT_ID),
                ("MONGODB_ATLAS_PUBLIC_API_KEY", PUBLIC_KEY),
                ("MONGODB_ATLAS_PRIVATE_API_KEY", PRIVATE_KEY),
                ("WAIT_BUDGET_SECONDS", "10"),
                ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        env.push(("MONGODB_ATLAS_BASE_URL".into(), self.sim.base_url()));
        env
    }

    /// Returns [`Sandbox::env`] with `extra` added.
    pub fn env_with(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.env();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// Returns the function's environment with the service-account credentials [`CLIENT_ID`] and
    /// [`CLIENT_SECRET`] in place of the API key.
    pub fn env_service_account(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .env()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("MONGODB_ATLAS_P"))
            .collect();
        env.push(("MONGODB_ATLAS_CLIENT_ID".into(), CLIENT_ID.into()));
        env.push(("MONGODB_ATLAS_CLIENT_SECRET".into(), CLIENT_SECRET.into()));
        env
    }

    /// Starts the event function with `env`.
    pub async fn function(&self, env: &[(String, String)]) -> FunctionProcess {
        spawn("linker-events", env).await
    }

    /// Starts the reconcile function with `env`.
    pub async fn reconcile_function(&self, env: &[(String, String)]) -> FunctionProcess {
        spawn("linker-reconcile", env).await
    }

    /// Loads a sample event and replaces its made-up ids with the sandbox's.
    pub fn event(&self, name: &str, endpoints: &[&str]) -> Value {
        let event = harness::events::load_event(name).expect("sample event loads");
        let mut replacements = vec![(SAMPLE_VPC.to_owned(), self.vpc_id.clone())];
        for (sample, real) in SAMPLE_ENDPOINTS.iter().zip(endpoints) {
            replacements.push((sample.to_string(), real.to_string()));
        }
        harness::events::rewrite_ids(&event, replacements)
    }

    /// Returns the ids Atlas lists for the endpoint service, after due transitions.
    pub async fn linked(&self) -> Vec<(String, String)> {
        self.sim
            .settled_links(PROJECT_ID, &self.service_id)
            .await
            .into_iter()
            .map(|l| {
                (
                    l.interface_endpoint_id,
                    l.connection_status.as_str().to_owned(),
                )
            })
            .collect()
    }

    /// Counts the simulator's requests with `method` whose path contains `path`.
    pub fn atlas_requests(&self, method: &str, path: &str) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(path))
            .count()
    }
}

/// Starts the compiled function `name` with `env`.
async fn spawn(name: &str, env: &[(String, String)]) -> FunctionProcess {
    let binary = harness::workspace::built_binary(name)
        .unwrap_or_else(|e| panic!("{e}; build it first with `cargo build -p {name}`"));
    FunctionProcess::spawn(&binary, env)
        .await
        .expect("function starts")
}

/// Loads the scheduled event that starts a reconcile sweep.
pub fn scheduled_event() -> Value {
    harness::events::load_event("reconcile-scheduled").expect("sample event loads")
}

/// Creates a VPC with one subnet and an interface endpoint to [`SERVICE_NAME`] in it.
async fn new_endpoint(fixtures: &impl Ec2Fixtures, region: &str) -> (String, String) {
    let (vpc_id, subnets) = fixtures
        .create_vpc_with_subnets(region, 1)
        .await
        .expect("VPC created");
    let vpce = fixtures
        .create_interface_endpoint(region, &vpc_id, &subnets, SERVICE_NAME)
        .await
        .expect("interface endpoint created");
    (vpc_id, vpce)
}

/// Invokes the function and returns its JSON result, failing with the function's log otherwise.
pub async fn invoke_ok(function: &FunctionProcess, event: &Value) -> Value {
    match function.invoke(event, Duration::from_secs(60)).await {
        Ok(Invocation::Ok(value)) => value,
        Ok(Invocation::FunctionError {
            error_type,
            error_message,
        }) => panic!(
            "function returned {error_type}: {error_message}\nlog:\n{}",
            function.logs().join("\n")
        ),
        Err(e) => panic!("invocation failed: {e}"),
    }
}

/// Invokes the function and returns the error type and message it reported.
pub async fn invoke_err(function: &FunctionProcess, event: &Value) -> (String, String) {
    match function.invoke(event, Duration::from_secs(60)).await {
        Ok(Invocation::FunctionError {
            error_type,
            error_message,
        }) => (error_type, error_message),
        Ok(Invocation::Ok(value)) => panic!("expected an error, got {value}"),
        Err(e) => panic!("invocation failed: {e}"),
    }
}
