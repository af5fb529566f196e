//! Tests of the linking logic against in-memory EC2 and Atlas fakes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::domain::event::{CreatedEndpoint, DeletedEndpoints};
use crate::domain::ids::{AccountId, AwsRegion, EndpointServiceId};
use crate::domain::verdict::{AtlasStatus, Verdict};
use crate::error::{AtlasError, Ec2Error, ErrorClass};
use crate::ports::Ec2Endpoint;

const PROJECT: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";
const SERVICE_ID: &str = "65a1b2c3d4e5f6a7b8c9d0e1";
const SERVICE_NAME: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8";
const ENDPOINT: &str = "vpce-0a1b2c3d4e5f60718";

/// The account the fakes treat as the function's own.
const OWN_ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "444455556666";

/// A fake EC2 with accounts: a call returns only the endpoints its account owns.
#[derive(Default)]
struct FakeEc2 {
    endpoints: Mutex<HashMap<String, Ec2Endpoint>>,
    /// Every location a call was made in.
    calls_at: Mutex<Vec<Ec2Location>>,
    /// An account whose listing fails, as when its role cannot be assumed.
    failing_account: Option<&'static str>,
}

impl FakeEc2 {
    /// Records the call and returns the account whose endpoints it may see.
    fn account_of(&self, at: &Ec2Location) -> String {
        self.calls_at.lock().unwrap().push(at.clone());
        at.account
            .as_ref()
            .map_or(OWN_ACCOUNT, |a| a.as_str())
            .to_owned()
    }

    fn calls_in(&self, account: &str) -> usize {
        self.calls_at
            .lock()
            .unwrap()
            .iter()
            .filter(|at| at.account.as_ref().map_or(OWN_ACCOUNT, |a| a.as_str()) == account)
            .count()
    }

    /// Moves every endpoint to `account`.
    fn owned_by(self, account: &str) -> Self {
        for endpoint in self.endpoints.lock().unwrap().values_mut() {
            endpoint.owner_id = Some(account.to_owned());
        }
        self
    }
}

impl FakeEc2 {
    fn with(endpoint: &str, service: &str, endpoint_type: &str, state: &str) -> Self {
        let fake = Self::default();
        fake.endpoints.lock().unwrap().insert(
            endpoint.to_owned(),
            Ec2Endpoint {
                id: endpoint.to_owned(),
                endpoint_type: endpoint_type.to_owned(),
                service_name: service.to_owned(),
                state: Ec2State::parse(state),
                vpc_id: Some("vpc-0123456789abcdef0".to_owned()),
                owner_id: Some(OWN_ACCOUNT.to_owned()),
                tags: vec![("team".to_owned(), "payments".to_owned())],
                created_at: Some(1_764_500_000),
            },
        );
        fake
    }
}

impl Ec2Port for FakeEc2 {
    async fn describe_endpoint(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
    ) -> Result<Option<Ec2Endpoint>, Ec2Error> {
        let account = self.account_of(at);
        let endpoints = self.endpoints.lock().unwrap();
        let found = endpoints.get(id.as_str());
        Ok(found
            .filter(|e| e.owner_id.as_deref() == Some(account.as_str()))
            .cloned())
    }

    async fn list_endpoints(
        &self,
        at: &Ec2Location,
        service_name: &str,
    ) -> Result<Vec<Ec2Endpoint>, Ec2Error> {
        let account = self.account_of(at);
        if self.failing_account == Some(account.as_str()) {
            return Err(Ec2Error {
                operation: "DescribeVpcEndpoints",
                location: at.to_string(),
                code: None,
                message: "could not load credentials".to_owned(),
                class: ErrorClass::Retryable,
            });
        }
        Ok(self
            .endpoints
            .lock()
            .unwrap()
            .values()
            .filter(|e| e.service_name == service_name)
            .filter(|e| e.owner_id.as_deref() == Some(account.as_str()))
            .cloned()
            .collect())
    }

    async fn tag_endpoint(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
        key: &str,
        value: &str,
    ) -> Result<(), Ec2Error> {
        let account = self.account_of(at);
        let mut endpoints = self.endpoints.lock().unwrap();
        let found = endpoints.get_mut(id.as_str());
        if let Some(endpoint) = found.filter(|e| e.owner_id.as_deref() == Some(account.as_str())) {
            endpoint.tags.retain(|(k, _)| k != key);
            endpoint.tags.push((key.to_owned(), value.to_owned()));
        }
        Ok(())
    }
}

#[derive(Default)]
struct FakeAtlas {
    services: Mutex<Vec<EndpointService>>,
    links: Mutex<HashMap<String, AtlasLinkState>>,
    calls: Mutex<Vec<String>>,
    link_conflicts: bool,
    fail_with: Option<ErrorClass>,
    /// When set, a link reads as AVAILABLE from this many reads after its creation on.
    accept_after_reads: Option<usize>,
    /// When set, an unlinked link disappears at once instead of reading DELETING.
    instant_delete: bool,
}

impl FakeAtlas {
    fn with_service(name: &str, linked: &[&str]) -> Self {
        let fake = Self::default();
        fake.services.lock().unwrap().push(EndpointService {
            project_id: ProjectId::parse(PROJECT).unwrap(),
            id: EndpointServiceId::parse(SERVICE_ID).unwrap(),
            endpoint_service_name: Some(name.to_owned()),
            region_name: Some("US_EAST_1".to_owned()),
            status: Some("AVAILABLE".to_owned()),
            interface_endpoints: linked.iter().map(|s| s.to_string()).collect(),
        });
        for id in linked {
            fake.links
                .lock()
                .unwrap()
                .insert(id.to_string(), state("AVAILABLE", false));
        }
        fake
    }

    fn calls(&self, prefix: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    fn record(&self, call: String) -> Result<(), AtlasError> {
        self.calls.lock().unwrap().push(call);
        match self.fail_with {
            Some(class) => Err(AtlasError {
                operation: "fake",
                status: Some(503),
                error_code: Some("SERVICE_UNAVAILABLE".into()),
                message: "unavailable".into(),
                class,
            }),
            None => Ok(()),
        }
    }
}

fn state(status: &str, delete_requested: bool) -> AtlasLinkState {
    AtlasLinkState {
        status: AtlasStatus::parse(status),
        delete_requested,
        error_message: None,
    }
}

impl AtlasPort for FakeAtlas {
    async fn list_endpoint_services(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<EndpointService>, AtlasError> {
        self.record(format!("list {project}"))?;
        Ok(self
            .services
            .lock()
            .unwrap()
            .iter()
            .filter(|s| &s.project_id == project)
            .cloned()
            .collect())
    }

    async fn link(
        &self,
        _: &ProjectId,
        _: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<LinkOutcome, AtlasError> {
        self.record(format!("link {endpoint}"))?;
        if self.link_conflicts {
            return Ok(LinkOutcome::AlreadyLinked);
        }
        let created = state("PENDING_ACCEPTANCE", false);
        self.links
            .lock()
            .unwrap()
            .insert(endpoint.to_string(), created.clone());
        Ok(LinkOutcome::Created(created))
    }

    async fn get_link(
        &self,
        _: &ProjectId,
        _: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<AtlasLinkState, AtlasError> {
        self.record(format!("get {endpoint}"))?;
        if let Some(reads) = self.accept_after_reads
            && self.calls(&format!("get {endpoint}")) >= reads
            && let Some(link) = self.links.lock().unwrap().get_mut(endpoint.as_str())
        {
            link.status = AtlasStatus::Available;
        }
        Ok(self
            .links
            .lock()
            .unwrap()
            .get(endpoint.as_str())
            .cloned()
            .unwrap_or_else(AtlasLinkState::not_linked))
    }

    async fn unlink(
        &self,
        _: &ProjectId,
        _: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<UnlinkOutcome, AtlasError> {
        self.record(format!("unlink {endpoint}"))?;
        let mut links = self.links.lock().unwrap();
        match links.get_mut(endpoint.as_str()) {
            Some(_) if self.instant_delete => {
                links.remove(endpoint.as_str());
                Ok(UnlinkOutcome::Requested)
            }
            Some(link) => {
                *link = state("DELETING", true);
                Ok(UnlinkOutcome::Requested)
            }
            None => Ok(UnlinkOutcome::NotLinked),
        }
    }
}

fn linker(ec2: FakeEc2, atlas: FakeAtlas, dry_run: bool) -> Linker<FakeEc2, FakeAtlas> {
    Linker::new(
        ec2,
        atlas,
        vec![ProjectId::parse(PROJECT).unwrap()],
        dry_run,
        LinkPolicy::default(),
    )
}

fn created(endpoint: &str, service: &str) -> Intent {
    Intent::Link(CreatedEndpoint {
        account: AccountId::parse(OWN_ACCOUNT).unwrap(),
        region: AwsRegion::parse("us-east-1").unwrap(),
        endpoint_id: VpcEndpointId::parse(endpoint).unwrap(),
        service_name: EndpointServiceName::parse(service).unwrap(),
        vpc_id: None,
    })
}

/// Returns other accounts that the linker reads, as `ALLOWED_ACCOUNT_IDS` lists them.
fn listed(accounts: &[&str]) -> OtherAccounts {
    OtherAccounts {
        listed: accounts
            .iter()
            .map(|a| AccountId::parse(a).unwrap())
            .collect(),
        unlisted: false,
    }
}

/// Sets the account a created or deleted intent names.
fn from_account(intent: Intent, account: &str) -> Intent {
    let account = AccountId::parse(account).unwrap();
    match intent {
        Intent::Link(created) => Intent::Link(CreatedEndpoint { account, ..created }),
        Intent::Unlink(deleted) => Intent::Unlink(DeletedEndpoints { account, ..deleted }),
        other => other,
    }
}

fn deleted(ids: &[&str], unsuccessful: &[(&str, &str)]) -> Intent {
    Intent::Unlink(DeletedEndpoints {
        account: AccountId::parse(OWN_ACCOUNT).unwrap(),
        region: AwsRegion::parse("us-east-1").unwrap(),
        deleted: ids
            .iter()
            .map(|id| VpcEndpointId::parse(id).unwrap())
            .collect(),
        unsuccessful: unsuccessful
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    })
}

async fn one(linker: &Linker<FakeEc2, FakeAtlas>, intent: Intent) -> EndpointReport {
    let mut reports = linker
        .apply(&intent, Instant::now())
        .await
        .expect("apply succeeds");
    assert_eq!(reports.len(), 1, "{reports:?}");
    reports.remove(0)
}

#[tokio::test]
async fn link_new_endpoint() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "pendingAcceptance");
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
    let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
    assert_eq!(report.action, Action::Linked);
    assert_eq!(
        report.project_id.as_ref().map(|p| p.as_str()),
        Some(PROJECT)
    );
    assert_eq!(
        report.endpoint_service_id.as_ref().map(|s| s.as_str()),
        Some(SERVICE_ID)
    );
    assert_eq!(report.ec2_state.as_deref(), Some("pendingAcceptance"));
    assert_eq!(report.atlas_status.as_deref(), Some("PENDING_ACCEPTANCE"));
    assert_eq!(report.verdict, Some(Verdict::Converging));
    assert_eq!(linker.atlas().calls("link"), 1);
    let endpoints = linker.ec2.endpoints.lock().unwrap();
    let tag = endpoints[ENDPOINT].tag(LINKED_TAG).map(str::to_owned);
    assert_eq!(tag, Some(format!("{PROJECT}/{SERVICE_ID}")));
}

#[tokio::test]
async fn link_listed_endpoint_sends_nothing() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
    let linker = linker(
        ec2,
        FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]),
        false,
    );
    let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
    assert_eq!(report.action, Action::AlreadyLinked);
    assert_eq!(report.verdict, Some(Verdict::InSync));
    assert_eq!(linker.atlas().calls("link"), 0);
}

#[tokio::test]
async fn link_conflict_is_success() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
    let atlas = FakeAtlas {
        link_conflicts: true,
        ..FakeAtlas::with_service(SERVICE_NAME, &[])
    };
    atlas
        .links
        .lock()
        .unwrap()
        .insert(ENDPOINT.into(), state("AVAILABLE", false));
    let linker = linker(ec2, atlas, false);
    let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
    assert_eq!(report.action, Action::AlreadyLinked);
    assert_eq!(report.verdict, Some(Verdict::InSync));
}

#[tokio::test]
async fn link_ignored_when_ec2_disagrees() {
    let other_service = "com.amazonaws.vpce.us-east-1.vpce-svc-0ffffffffffffffff";
    let cases = [
        (FakeEc2::default(), "does not list the endpoint"),
        (
            FakeEc2::with(ENDPOINT, SERVICE_NAME, "Gateway", "available"),
            "type Gateway",
        ),
        (
            FakeEc2::with(ENDPOINT, other_service, "Interface", "available"),
            "EC2 reports service",
        ),
        (
            FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "deleted"),
            "state deleted",
        ),
        (
            FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "rejected"),
            "state rejected",
        ),
    ];
    for (ec2, expected) in cases {
        let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
        let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
        assert_eq!(report.action, Action::Ignored);
        let detail = report.detail.unwrap_or_default();
        assert!(detail.contains(expected), "{detail}");
        assert_eq!(linker.atlas().calls("link"), 0);
        assert_eq!(linker.atlas().calls("list"), 0);
    }
}

#[tokio::test]
async fn link_ignored_for_unknown_service() {
    let other_service = "com.amazonaws.vpce.us-east-1.vpce-svc-0ffffffffffffffff";
    let ec2 = FakeEc2::with(ENDPOINT, other_service, "Interface", "pendingAcceptance");
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
    let report = one(&linker, created(ENDPOINT, other_service)).await;
    assert_eq!(report.action, Action::Ignored);
    assert!(report.detail.unwrap_or_default().contains(PROJECT));
    assert_eq!(linker.atlas().calls("link"), 0);
}

#[tokio::test]
async fn link_cross_region_service() {
    let remote = "com.amazonaws.vpce.eu-west-1.vpce-svc-0e1f2a3b4c5d6e7f8";
    let ec2 = FakeEc2::with(ENDPOINT, remote, "Interface", "pendingAcceptance");
    let linker = linker(ec2, FakeAtlas::with_service(remote, &[]), false);
    let report = one(&linker, created(ENDPOINT, remote)).await;
    assert_eq!(report.action, Action::Linked);
}

#[tokio::test]
async fn link_dry_run_changes_nothing() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "pendingAcceptance");
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), true);
    let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
    assert_eq!(report.action, Action::WouldLink);
    assert_eq!(report.atlas_status.as_deref(), Some("NOT_LINKED"));
    assert_eq!(linker.atlas().calls("link"), 0);
}

#[tokio::test]
async fn link_burst_lists_once() {
    let ec2 = FakeEc2::default();
    for n in 0..20 {
        let id = format!("vpce-0a1b2c3d4e5f607{n:02}");
        let endpoint = FakeEc2::with(&id, SERVICE_NAME, "Interface", "pendingAcceptance");
        let found = endpoint.endpoints.lock().unwrap().remove(&id).unwrap();
        ec2.endpoints.lock().unwrap().insert(id, found);
    }
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
    for n in 0..20 {
        let report = one(
            &linker,
            created(&format!("vpce-0a1b2c3d4e5f607{n:02}"), SERVICE_NAME),
        )
        .await;
        assert_eq!(report.action, Action::Linked);
    }
    assert_eq!(linker.atlas().calls("list"), 1);
    assert_eq!(linker.atlas().calls("link"), 20);
}

#[tokio::test]
async fn unknown_services_burst_lists_once() {
    let other_service = "com.amazonaws.vpce.us-east-1.vpce-svc-0ffffffffffffffff";
    let ec2 = FakeEc2::with(ENDPOINT, other_service, "Interface", "pendingAcceptance");
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
    for _ in 0..5 {
        one(&linker, created(ENDPOINT, other_service)).await;
    }
    assert_eq!(linker.atlas().calls("list"), 1);
}

#[tokio::test]
async fn unlink_linked_endpoint() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "deleted");
    let linker = linker(
        ec2,
        FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]),
        false,
    );
    let report = one(&linker, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::Unlinked);
    assert_eq!(report.atlas_status.as_deref(), Some("DELETING"));
    assert!(report.atlas_delete_requested);
    assert_eq!(report.verdict, Some(Verdict::Converging));
}

#[tokio::test]
async fn unlink_already_gone_is_success() {
    let ec2 = FakeEc2::default();
    let atlas = FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]);
    atlas.links.lock().unwrap().clear();
    let linker = linker(ec2, atlas, false);
    let report = one(&linker, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::AlreadyUnlinked);
    assert_eq!(report.ec2_state.as_deref(), Some("notFound"));
    assert_eq!(report.verdict, Some(Verdict::InSync));
}

#[tokio::test]
async fn unlink_unknown_endpoint_not_linked() {
    let linker = linker(
        FakeEc2::default(),
        FakeAtlas::with_service(SERVICE_NAME, &[]),
        false,
    );
    let report = one(&linker, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::NotLinked);
    assert_eq!(report.verdict, Some(Verdict::InSync));
    assert_eq!(linker.atlas().calls("unlink"), 0);
}

#[tokio::test]
async fn unlink_skips_unsuccessful_ids() {
    let failed = "vpce-0d4e5f60718293a4b";
    let atlas = FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT, failed]);
    let linker = linker(FakeEc2::default(), atlas, false);
    let reports = linker
        .apply(
            &deleted(&[ENDPOINT], &[(failed, "DependencyViolation")]),
            Instant::now(),
        )
        .await
        .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].action, Action::DeleteFailed);
    assert_eq!(reports[0].vpc_endpoint_id, failed);
    assert_eq!(reports[1].action, Action::Unlinked);
    assert_eq!(linker.atlas().calls(&format!("unlink {failed}")), 0);
}

#[tokio::test]
async fn unlink_dry_run_changes_nothing() {
    let linker = linker(
        FakeEc2::default(),
        FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]),
        true,
    );
    let report = one(&linker, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::WouldUnlink);
    assert_eq!(report.verdict, Some(Verdict::Mismatch));
    assert_eq!(linker.atlas().calls("unlink"), 0);
}

#[tokio::test]
async fn link_then_unlink_uses_cache() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "pendingAcceptance");
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
    one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
    linker
        .ec2
        .endpoints
        .lock()
        .unwrap()
        .get_mut(ENDPOINT)
        .unwrap()
        .state = Ec2State::Deleted;
    let report = one(&linker, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::Unlinked);
    assert_eq!(linker.atlas().calls("list"), 1);
}

#[tokio::test]
async fn unlink_skips_endpoint_ec2_lists_alive() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
    let linker = linker(
        ec2,
        FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]),
        false,
    );
    let report = one(&linker, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::Ignored);
    assert!(report.detail.unwrap_or_default().contains("available"));
    assert_eq!(linker.atlas().calls("unlink"), 0);
}

#[tokio::test]
async fn unlink_miss_lists_again() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "deleted");
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
    let other = "vpce-0d4e5f60718293a4b";
    one(&linker, deleted(&[other], &[])).await;
    linker.atlas().services.lock().unwrap()[0]
        .interface_endpoints
        .push(ENDPOINT.into());
    linker
        .atlas()
        .links
        .lock()
        .unwrap()
        .insert(ENDPOINT.into(), state("AVAILABLE", false));
    let report = one(&linker, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::Unlinked);
    assert_eq!(linker.atlas().calls("list"), 2);
}

#[tokio::test]
async fn link_found_linked_is_tagged() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
    let atlas = FakeAtlas {
        link_conflicts: true,
        ..FakeAtlas::with_service(SERVICE_NAME, &[])
    };
    atlas
        .links
        .lock()
        .unwrap()
        .insert(ENDPOINT.into(), state("AVAILABLE", false));
    let linker = linker(ec2, atlas, false);
    let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
    assert_eq!(report.action, Action::AlreadyLinked);
    assert!(
        linker.ec2.endpoints.lock().unwrap()[ENDPOINT]
            .tag(LINKED_TAG)
            .is_some()
    );
}

#[tokio::test]
async fn atlas_failure_is_an_error() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "pendingAcceptance");
    let atlas = FakeAtlas {
        fail_with: Some(ErrorClass::Retryable),
        ..FakeAtlas::with_service(SERVICE_NAME, &[])
    };
    let linker = linker(ec2, atlas, false);
    let error = linker
        .apply(&created(ENDPOINT, SERVICE_NAME), Instant::now())
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Retryable");
}

#[tokio::test(start_paused = true)]
async fn wait_reports_in_sync_when_settled() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
    let atlas = FakeAtlas {
        accept_after_reads: Some(2),
        ..FakeAtlas::with_service(SERVICE_NAME, &[])
    };
    let linker = linker(ec2, atlas, false);
    let until = Instant::now() + Duration::from_secs(60);
    let report = linker
        .apply(&created(ENDPOINT, SERVICE_NAME), until)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(report.action, Action::Linked);
    assert_eq!(report.atlas_status.as_deref(), Some("AVAILABLE"));
    assert_eq!(report.verdict, Some(Verdict::InSync));
}

#[tokio::test(start_paused = true)]
async fn wait_reports_converging_when_budget_ends() {
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "pendingAcceptance");
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
    let until = Instant::now() + Duration::from_secs(5);
    let report = linker
        .apply(&created(ENDPOINT, SERVICE_NAME), until)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(report.verdict, Some(Verdict::Converging));
    assert!(
        linker.atlas().calls("get") >= 2,
        "rechecked while time was left"
    );
    assert!(Instant::now() <= until, "stopped within the budget");
}

#[tokio::test]
async fn link_policy_filters_endpoints() {
    let cases = [
        (
            LinkPolicy {
                allowed_accounts: Some(vec!["999988887777".into()]),
                ..Default::default()
            },
            "account 111122223333",
        ),
        (
            LinkPolicy {
                allowed_vpcs: Some(vec!["vpc-0fffffffffffffff0".into()]),
                ..Default::default()
            },
            "VPC vpc-0123456789abcdef0",
        ),
        (
            LinkPolicy {
                opt_out_tag: Some("team".into()),
                ..Default::default()
            },
            "opt-out tag team",
        ),
    ];
    for (policy, expected) in cases {
        let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
        let atlas = FakeAtlas::with_service(SERVICE_NAME, &[]);
        let linker = Linker::new(
            ec2,
            atlas,
            vec![ProjectId::parse(PROJECT).unwrap()],
            false,
            policy,
        );
        let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
        assert_eq!(report.action, Action::Ignored);
        let detail = report.detail.unwrap_or_default();
        assert!(detail.contains(expected), "{detail}");
        assert_eq!(linker.atlas().calls("link"), 0);
    }
}

#[tokio::test]
async fn link_policy_allows_listed_endpoints() {
    let policy = LinkPolicy {
        allowed_accounts: Some(vec!["111122223333".into()]),
        allowed_vpcs: Some(vec!["vpc-0123456789abcdef0".into()]),
        opt_out_tag: Some("atlas-privatelink-linker:opt-out".into()),
    };
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
    let atlas = FakeAtlas::with_service(SERVICE_NAME, &[]);
    let linker = Linker::new(
        ec2,
        atlas,
        vec![ProjectId::parse(PROJECT).unwrap()],
        false,
        policy,
    );
    let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
    assert_eq!(report.action, Action::Linked);
}

#[tokio::test]
async fn link_reads_the_event_account() {
    let ec2 =
        FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available").owned_by(OTHER_ACCOUNT);
    let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);

    // Read in the own account, the endpoint is not there.
    let report = one(&linker, created(ENDPOINT, SERVICE_NAME)).await;
    assert_eq!(report.action, Action::Ignored);
    assert!(report.detail.unwrap_or_default().contains("does not list"));

    let intent = from_account(created(ENDPOINT, SERVICE_NAME), OTHER_ACCOUNT);
    let report = one(&linker, intent).await;
    assert_eq!(report.action, Action::Linked);
    assert!(
        linker.ec2.calls_in(OTHER_ACCOUNT) >= 2,
        "described and tagged there"
    );
    let tagged = linker.ec2.endpoints.lock().unwrap()[ENDPOINT]
        .tag(LINKED_TAG)
        .is_some();
    assert!(tagged, "the linked tag is set in the endpoint's account");

    let gone =
        FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "deleted").owned_by(OTHER_ACCOUNT);
    *linker.ec2.endpoints.lock().unwrap() = gone.endpoints.into_inner().unwrap();
    let intent = from_account(deleted(&[ENDPOINT], &[]), OTHER_ACCOUNT);
    let report = one(&linker, intent).await;
    assert_eq!(report.action, Action::Unlinked);
}

#[tokio::test]
async fn delete_naming_wrong_account_keeps_link() {
    let alive_in_other =
        || FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available").owned_by(OTHER_ACCOUNT);
    let atlas = || FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]);

    // The event names the own account, where EC2 does not know the endpoint.
    let reader =
        linker(alive_in_other(), atlas(), false).with_other_accounts(listed(&[OTHER_ACCOUNT]));
    let report = one(&reader, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::Ignored);
    let detail = report.detail.unwrap_or_default();
    assert!(
        detail.contains("lists it as available in us-east-1 of account 444455556666"),
        "{detail}"
    );
    assert_eq!(reader.atlas().calls("unlink"), 0);

    // The event names a third account, and the endpoint lives in the own account.
    let alive_here = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
    let reader = linker(alive_here, atlas(), false).with_other_accounts(listed(&["777788889999"]));
    let report = one(
        &reader,
        from_account(deleted(&[ENDPOINT], &[]), "777788889999"),
    )
    .await;
    assert_eq!(report.action, Action::Ignored);
    assert_eq!(reader.atlas().calls("unlink"), 0);

    // With accounts that no list names, an endpoint found nowhere may still be alive.
    let open = OtherAccounts {
        listed: Vec::new(),
        unlisted: true,
    };
    let reader = linker(FakeEc2::default(), atlas(), false).with_other_accounts(open);
    let report = one(&reader, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::Ignored);
    let detail = report.detail.unwrap_or_default();
    assert!(
        detail.contains("list the accounts in ALLOWED_ACCOUNT_IDS"),
        "{detail}"
    );
    assert_eq!(reader.atlas().calls("unlink"), 0);

    // Gone from every account the linker reads, the link is removed.
    let reader =
        linker(FakeEc2::default(), atlas(), false).with_other_accounts(listed(&[OTHER_ACCOUNT]));
    let report = one(&reader, deleted(&[ENDPOINT], &[])).await;
    assert_eq!(report.action, Action::Unlinked);
}

#[tokio::test]
async fn account_outside_allow_list_is_not_read() {
    let policy = LinkPolicy {
        allowed_accounts: Some(vec![OWN_ACCOUNT.into()]),
        ..Default::default()
    };
    let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "deleted").owned_by(OTHER_ACCOUNT);
    let atlas = FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]);
    let projects = vec![ProjectId::parse(PROJECT).unwrap()];
    let linker = Linker::new(ec2, atlas, projects, false, policy);
    for intent in [
        from_account(created(ENDPOINT, SERVICE_NAME), OTHER_ACCOUNT),
        from_account(deleted(&[ENDPOINT], &[]), OTHER_ACCOUNT),
    ] {
        let report = one(&linker, intent).await;
        assert_eq!(report.action, Action::Ignored);
        let detail = report.detail.unwrap_or_default();
        assert!(
            detail.contains("account 444455556666 is not in ALLOWED_ACCOUNT_IDS"),
            "{detail}"
        );
    }
    assert!(
        linker.ec2.calls_at.lock().unwrap().is_empty(),
        "EC2 was not read"
    );
    assert_eq!(linker.atlas().calls("link"), 0);
    assert_eq!(linker.atlas().calls("unlink"), 0);
}

mod sweep {
    use super::*;
    use crate::linker::sweep::{REPAIRED_TAG, SweepOptions};

    const NOW: i64 = 1_764_500_000 + 7_200;

    fn options() -> SweepOptions {
        SweepOptions {
            extra_regions: Vec::new(),
            mismatch_age_limit: Duration::from_secs(3_600),
            now_unix: NOW,
            wait_until: Instant::now(),
        }
    }

    fn tagged(ec2: FakeEc2, key: &str) -> FakeEc2 {
        for endpoint in ec2.endpoints.lock().unwrap().values_mut() {
            endpoint.tags.push((key.to_owned(), "x".to_owned()));
        }
        ec2
    }

    #[tokio::test]
    async fn sweep_links_missed_endpoint() {
        let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "pendingAcceptance");
        let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[]), false);
        let reports = linker.sweep(&options()).await.unwrap().endpoints;
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].action, Action::Linked);
        assert_eq!(reports[0].managed, Some(true));
        assert_eq!(reports[0].verdict, Some(Verdict::Converging));
        assert_eq!(reports[0].age_seconds, Some(7_200));
        assert!(
            linker.ec2.endpoints.lock().unwrap()[ENDPOINT]
                .tag(LINKED_TAG)
                .is_some()
        );
    }

    #[tokio::test]
    async fn sweep_unlinks_managed_orphan() {
        let ec2 = tagged(
            FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "deleted"),
            LINKED_TAG,
        );
        let linker = linker(
            ec2,
            FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]),
            false,
        );
        let reports = linker.sweep(&options()).await.unwrap().endpoints;
        assert_eq!(reports[0].action, Action::Unlinked);
        assert_eq!(reports[0].verdict, Some(Verdict::Converging));
        assert_eq!(linker.atlas().calls("unlink"), 1);
    }

    #[tokio::test]
    async fn sweep_unlinks_orphan_of_allowed_account() {
        let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "expired");
        let policy = LinkPolicy {
            allowed_accounts: Some(vec!["111122223333".into()]),
            ..Default::default()
        };
        let atlas = FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]);
        let linker = Linker::new(
            ec2,
            atlas,
            vec![ProjectId::parse(PROJECT).unwrap()],
            false,
            policy,
        );
        let reports = linker.sweep(&options()).await.unwrap().endpoints;
        assert_eq!(reports[0].action, Action::Unlinked);
    }

    #[tokio::test]
    async fn sweep_leaves_foreign_orphan() {
        let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "deleted");
        let linker = linker(
            ec2,
            FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]),
            false,
        );
        let reports = linker.sweep(&options()).await.unwrap().endpoints;
        assert_eq!(reports[0].action, Action::Unmanaged);
        assert_eq!(reports[0].managed, Some(false));
        assert_eq!(reports[0].verdict, Some(Verdict::Mismatch));
        assert_eq!(linker.atlas().calls("unlink"), 0);
    }

    #[tokio::test]
    async fn sweep_searches_other_accounts() {
        let in_other = || {
            FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "pendingAcceptance")
                .owned_by(OTHER_ACCOUNT)
        };
        let linker = super::linker(
            in_other(),
            FakeAtlas::with_service(SERVICE_NAME, &[]),
            false,
        );
        let reports = linker.sweep(&options()).await.unwrap().endpoints;
        assert!(reports.is_empty(), "the own account has no endpoint");

        let atlas = FakeAtlas::with_service(SERVICE_NAME, &[]);
        let linker =
            super::linker(in_other(), atlas, false).with_other_accounts(listed(&[OTHER_ACCOUNT]));
        let options = options();
        let reports = linker.sweep(&options).await.unwrap().endpoints;
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].action, Action::Linked);
        let marked = linker.ec2.endpoints.lock().unwrap()[ENDPOINT]
            .tag(LINKED_TAG)
            .is_some();
        assert!(marked);

        // Deleted in its account, a tagged endpoint's link is removed.
        let ec2 = tagged(
            FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "deleted").owned_by(OTHER_ACCOUNT),
            LINKED_TAG,
        );
        let atlas = FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]);
        let linker = super::linker(ec2, atlas, false).with_other_accounts(listed(&[OTHER_ACCOUNT]));
        let reports = linker.sweep(&options).await.unwrap().endpoints;
        assert_eq!(reports[0].action, Action::Unlinked);
    }

    #[tokio::test]
    async fn sweep_skips_unreadable_account() {
        const THIRD_ACCOUNT: &str = "777788889999";
        let second = "vpce-0b2c3d4e5f6071829";
        let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
        let in_third =
            FakeEc2::with(second, SERVICE_NAME, "Interface", "available").owned_by(THIRD_ACCOUNT);
        ec2.endpoints
            .lock()
            .unwrap()
            .extend(in_third.endpoints.into_inner().unwrap());
        let ec2 = FakeEc2 {
            failing_account: Some(OTHER_ACCOUNT),
            ..ec2
        };
        let linked_in_other = "vpce-0c3d4e5f607182930";
        let atlas = FakeAtlas::with_service(SERVICE_NAME, &[linked_in_other]);
        let linker =
            linker(ec2, atlas, false).with_other_accounts(listed(&[OTHER_ACCOUNT, THIRD_ACCOUNT]));

        let sweep = linker.sweep(&options()).await.unwrap();

        assert_eq!(sweep.unreadable_accounts.len(), 1);
        assert_eq!(sweep.unreadable_accounts[0].0.as_str(), OTHER_ACCOUNT);
        let action = |id: &str| {
            let report = sweep.endpoints.iter().find(|r| r.vpc_endpoint_id == id);
            report.map(|r| r.action)
        };
        assert_eq!(action(ENDPOINT), Some(Action::Linked));
        assert_eq!(action(second), Some(Action::Linked));
        assert_eq!(action(linked_in_other), Some(Action::Unmanaged));
        let unmanaged = sweep
            .endpoints
            .iter()
            .find(|r| r.vpc_endpoint_id == linked_in_other);
        let detail = unmanaged.and_then(|r| r.detail.clone()).unwrap_or_default();
        assert!(
            detail.contains("accounts 444455556666 could not be read"),
            "{detail}"
        );
        assert_eq!(linker.atlas().calls("unlink"), 0);
        assert_eq!(
            linker.ec2.calls_in(OTHER_ACCOUNT),
            1,
            "listed once, not per region or service"
        );
    }

    #[tokio::test]
    async fn sweep_without_account_list_gives_no_verdict() {
        let open = OtherAccounts {
            listed: Vec::new(),
            unlisted: true,
        };
        let atlas = FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]);
        let linker = linker(FakeEc2::default(), atlas, false).with_other_accounts(open);

        let reports = linker.sweep(&options()).await.unwrap().endpoints;

        assert_eq!(reports[0].action, Action::Unmanaged);
        assert_eq!(reports[0].verdict, None);
        let detail = reports[0].detail.clone().unwrap_or_default();
        assert!(
            detail.contains("list its account in ALLOWED_ACCOUNT_IDS"),
            "{detail}"
        );
        assert_eq!(linker.atlas().calls("unlink"), 0);
    }

    #[tokio::test]
    async fn sweep_leaves_link_ec2_does_not_list() {
        let linker = linker(
            FakeEc2::default(),
            FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]),
            false,
        );
        let reports = linker.sweep(&options()).await.unwrap().endpoints;
        assert_eq!(reports[0].action, Action::Unmanaged);
        assert_eq!(reports[0].ec2_state.as_deref(), Some("notFound"));
        assert_eq!(linker.atlas().calls("unlink"), 0);
    }

    #[tokio::test]
    async fn sweep_reports_overdue_mismatch() {
        let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
        let atlas = FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT]);
        atlas
            .links
            .lock()
            .unwrap()
            .insert(ENDPOINT.into(), state("REJECTED", false));
        let linker = linker(ec2, atlas, false);
        let reports = linker.sweep(&options()).await.unwrap().endpoints;
        assert_eq!(reports[0].action, Action::Unmanaged);
        assert_eq!(reports[0].verdict, Some(Verdict::Mismatch));
        assert_eq!(reports[0].age_seconds, Some(7_200));
        assert!(reports[0].overdue);
    }

    #[tokio::test]
    async fn sweep_repairs_rejected_link_once() {
        let ec2 = tagged(
            FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available"),
            LINKED_TAG,
        );
        let atlas = FakeAtlas {
            instant_delete: true,
            ..FakeAtlas::with_service(SERVICE_NAME, &[ENDPOINT])
        };
        atlas
            .links
            .lock()
            .unwrap()
            .insert(ENDPOINT.into(), state("REJECTED", false));
        let linker = linker(ec2, atlas, false);

        let first = linker.sweep(&options()).await.unwrap().endpoints;
        assert_eq!(first[0].action, Action::Repaired);
        assert_eq!(first[0].atlas_status.as_deref(), Some("PENDING_ACCEPTANCE"));
        assert!(
            linker.ec2.endpoints.lock().unwrap()[ENDPOINT]
                .tag(REPAIRED_TAG)
                .is_some()
        );

        linker
            .atlas()
            .links
            .lock()
            .unwrap()
            .insert(ENDPOINT.into(), state("REJECTED", false));
        let second = linker.sweep(&options()).await.unwrap().endpoints;
        assert_eq!(second[0].action, Action::Checked);
        assert!(
            second[0]
                .detail
                .as_deref()
                .unwrap_or_default()
                .contains("after a repair")
        );
        assert_eq!(linker.atlas().calls("unlink"), 1);
        assert_eq!(linker.atlas().calls("link"), 1);
    }

    #[tokio::test]
    async fn sweep_dry_run_changes_nothing() {
        let ec2 = FakeEc2::with(ENDPOINT, SERVICE_NAME, "Interface", "available");
        let orphan = "vpce-0d4e5f60718293a4b";
        let orphan_ec2 = tagged(
            FakeEc2::with(orphan, SERVICE_NAME, "Interface", "deleted"),
            LINKED_TAG,
        );
        let gone = orphan_ec2.endpoints.lock().unwrap().remove(orphan).unwrap();
        ec2.endpoints.lock().unwrap().insert(orphan.into(), gone);
        let linker = linker(ec2, FakeAtlas::with_service(SERVICE_NAME, &[orphan]), true);
        let reports = linker.sweep(&options()).await.unwrap().endpoints;
        let actions: Vec<Action> = reports.iter().map(|r| r.action).collect();
        assert!(actions.contains(&Action::WouldLink), "{actions:?}");
        assert!(actions.contains(&Action::WouldUnlink), "{actions:?}");
        assert_eq!(linker.atlas().calls("link"), 0);
        assert_eq!(linker.atlas().calls("unlink"), 0);
    }
}
