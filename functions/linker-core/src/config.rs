//! Settings read from the environment once, at start. A missing or invalid setting stops the
//! function with one message that names it.
//!
//! The Atlas settings use the names the Atlas CLI and the Terraform provider use.

use std::time::Duration;

use crate::atlas::AtlasCredentials;
use crate::domain::event::shorten;
use crate::domain::ids::{AwsRegion, ProjectId};
use crate::linker::LinkPolicy;
use crate::secret::Secret;

/// The Atlas Admin API base URL when `MONGODB_ATLAS_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";

/// How long an invocation waits for a converging endpoint when `WAIT_BUDGET_SECONDS` is unset.
pub const DEFAULT_WAIT_BUDGET: Duration = Duration::from_secs(60);

/// Lambda's maximum timeout is 900 seconds; the wait must leave room for the rest.
const MAX_WAIT_BUDGET_SECONDS: u64 = 840;

/// The source of the Atlas credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// From the environment.
    Environment(AtlasCredentials),
    /// From the Secrets Manager secret with this name or ARN, read at the first invocation.
    SecretsManager(String),
}

/// The function's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub projects: Vec<ProjectId>,
    /// The base URL from the environment; a secret's `base_url` takes precedence.
    pub base_url: String,
    pub credentials: CredentialSource,
    pub dry_run: bool,
    /// Time kept free at the end of an invocation so the function can report before Lambda
    /// stops it.
    pub deadline_margin: Duration,
    /// How long an invocation keeps re-reading a converging endpoint (`WAIT_BUDGET_SECONDS`).
    /// Never more than half the invocation's remaining time.
    pub wait_budget: Duration,
    /// The allow-lists for linking (`ALLOWED_ACCOUNT_IDS`, `ALLOWED_VPC_IDS`, `OPT_OUT_TAG`).
    pub policy: LinkPolicy,
    /// The role, by name and optional path, that the functions assume in another account to
    /// read its endpoints (`CROSS_ACCOUNT_ROLE_NAME`). `None` reads only the own account.
    pub cross_account_role: Option<String>,
    /// Regions the reconcile sweep searches besides each endpoint service's own region
    /// (`RECONCILE_REGIONS`), for endpoints that use cross-region PrivateLink.
    pub reconcile_regions: Vec<AwsRegion>,
    /// The reconcile sweep reports a mismatch older than this as overdue
    /// (`MISMATCH_AGE_LIMIT_MINUTES`, default 60).
    pub mismatch_age_limit: Duration,
}

/// A missing or invalid setting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let projects = read_projects(get("ATLAS_PROJECT_IDS"))?;
        let base_url = match get("MONGODB_ATLAS_BASE_URL") {
            Some(url) => validate_base_url("MONGODB_ATLAS_BASE_URL", &url)?,
            None => DEFAULT_BASE_URL.to_owned(),
        };
        let credentials = match get("ATLAS_CREDENTIALS_SECRET") {
            Some(secret) => CredentialSource::SecretsManager(secret),
            None => CredentialSource::Environment(read_env_credentials(&get)?),
        };
        let dry_run = match get("DRY_RUN") {
            None => false,
            Some(value) => parse_bool(&value).ok_or_else(|| {
                ConfigError(format!("DRY_RUN is {value:?}; set it to true or false"))
            })?,
        };
        let wait_budget = match get("WAIT_BUDGET_SECONDS") {
            None => DEFAULT_WAIT_BUDGET,
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|seconds| *seconds <= MAX_WAIT_BUDGET_SECONDS)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    ConfigError(format!(
                        "WAIT_BUDGET_SECONDS is {value:?}; set it to a whole number of seconds from 0 to {MAX_WAIT_BUDGET_SECONDS}"
                    ))
                })?,
        };
        let cross_account_role = match get("CROSS_ACCOUNT_ROLE_NAME") {
            None => None,
            Some(name) if is_role_name(&name) => Some(name),
            Some(name) => {
                return Err(ConfigError(format!(
                    "CROSS_ACCOUNT_ROLE_NAME is {name:?}; set it to an IAM role name such as atlas-privatelink-linker-read, optionally after a path (team/atlas-privatelink-linker-read)"
                )));
            }
        };
        let policy = LinkPolicy {
            allowed_accounts: read_list(
                &get,
                "ALLOWED_ACCOUNT_IDS",
                "12-digit AWS account id",
                |id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()),
            )?,
            allowed_vpcs: read_list(
                &get,
                "ALLOWED_VPC_IDS",
                "VPC id (vpc- and hex digits)",
                |id| {
                    id.strip_prefix("vpc-").is_some_and(|hex| {
                        !hex.is_empty()
                            && hex
                                .bytes()
                                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                    })
                },
            )?,
            opt_out_tag: get("OPT_OUT_TAG"),
        };
        let mut reconcile_regions = Vec::new();
        for region in get("RECONCILE_REGIONS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            let parsed = AwsRegion::parse(region).ok_or_else(|| {
                ConfigError(format!("RECONCILE_REGIONS contains {region:?}, which is not an AWS region name such as us-east-1"))
            })?;
            reconcile_regions.push(parsed);
        }
        let mismatch_age_limit = match get("MISMATCH_AGE_LIMIT_MINUTES") {
            None => Duration::from_secs(60 * 60),
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|minutes| (1..=10_080).contains(minutes))
                .map(|minutes| Duration::from_secs(minutes * 60))
                .ok_or_else(|| {
                    ConfigError(format!("MISMATCH_AGE_LIMIT_MINUTES is {value:?}; set it to whole minutes from 1 to 10080"))
                })?,
        };
        Ok(Self {
            projects,
            base_url,
            credentials,
            dry_run,
            deadline_margin: Duration::from_secs(2),
            wait_budget,
            policy,
            cross_account_role,
            reconcile_regions,
            mismatch_age_limit,
        })
    }
}

/// Returns true for an IAM role name with an optional path: segments of letters, digits and
/// `+=,.@_-` joined by `/`, the name itself at most 64 characters.
fn is_role_name(text: &str) -> bool {
    let segment_ok = |segment: &str| {
        !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    };
    text.len() <= 512
        && text.split('/').all(segment_ok)
        && text.rsplit('/').next().is_some_and(|name| name.len() <= 64)
}

/// Reads an optional comma-separated list, checking each entry with `valid` and dropping
/// repeated entries.
fn read_list(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    what: &str,
    valid: impl Fn(&str) -> bool,
) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(value) = get(name) else {
        return Ok(None);
    };
    let mut entries = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if !valid(entry) {
            return Err(ConfigError(format!(
                "{name} contains {:?}, which is not a {what}",
                shorten(entry)
            )));
        }
        if !entries.iter().any(|e| e == entry) {
            entries.push(entry.to_owned());
        }
    }
    if entries.is_empty() {
        return Err(ConfigError(format!(
            "{name} lists no {what}; unset it to allow every value"
        )));
    }
    Ok(Some(entries))
}

fn read_projects(value: Option<String>) -> Result<Vec<ProjectId>, ConfigError> {
    let value = value.ok_or_else(|| {
        ConfigError(
            "ATLAS_PROJECT_IDS is missing; set it to a comma-separated list of Atlas project ids (24 hex digits)"
                .to_owned(),
        )
    })?;
    let mut projects = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let project = ProjectId::parse(part).ok_or_else(|| {
            ConfigError(format!(
                "ATLAS_PROJECT_IDS contains {:?}, which is not an Atlas project id (24 lower-case hex digits)",
                shorten(part)
            ))
        })?;
        if !projects.contains(&project) {
            projects.push(project);
        }
    }
    if projects.is_empty() {
        return Err(ConfigError(
            "ATLAS_PROJECT_IDS lists no project id".to_owned(),
        ));
    }
    Ok(projects)
}

fn read_env_credentials(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<AtlasCredentials, ConfigError> {
    let pair = |first: &str, second: &str| -> Result<Option<(String, String)>, ConfigError> {
        match (get(first), get(second)) {
            (Some(a), Some(b)) => Ok(Some((a, b))),
            (Some(_), None) => Err(ConfigError(format!(
                "{second} is missing; it is required with {first}"
            ))),
            (None, Some(_)) => Err(ConfigError(format!(
                "{first} is missing; it is required with {second}"
            ))),
            (None, None) => Ok(None),
        }
    };
    if let Some((client_id, client_secret)) =
        pair("MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET")?
    {
        return Ok(AtlasCredentials::ServiceAccount {
            client_id,
            client_secret: Secret::new(client_secret),
        });
    }
    if let Some((public_key, private_key)) = pair(
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
    )? {
        return Ok(AtlasCredentials::ApiKey {
            public_key,
            private_key: Secret::new(private_key),
        });
    }
    Err(ConfigError(
        "Atlas credentials are missing; set ATLAS_CREDENTIALS_SECRET, or MONGODB_ATLAS_CLIENT_ID and \
         MONGODB_ATLAS_CLIENT_SECRET, or MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY"
            .to_owned(),
    ))
}

/// Checks that a base URL is an absolute http(s) URL without path, query or credentials, and
/// returns it without a trailing slash.
pub fn validate_base_url(name: &str, url: &str) -> Result<String, ConfigError> {
    validate_url(name, url, true)
}

/// Checks a base URL like [`validate_base_url`], naming the value in the error only when
/// `show_value` is true: a URL read from a secret may hold anything.
pub fn validate_url(name: &str, url: &str, show_value: bool) -> Result<String, ConfigError> {
    let invalid = |why: &str| {
        let value = if show_value {
            format!(" {url:?}")
        } else {
            String::new()
        };
        ConfigError(format!(
            "{name}{value} is not a valid base URL ({why}); set it to a URL such as {DEFAULT_BASE_URL}"
        ))
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be https or http"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("it must not contain credentials"));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("it must have no path, query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const PROJECT: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn config_service_account_from_env() {
        let s = settings(&[
            ("ATLAS_PROJECT_IDS", PROJECT),
            ("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_1"),
            ("MONGODB_ATLAS_CLIENT_SECRET", "shh"),
        ])
        .unwrap();
        assert_eq!(s.base_url, DEFAULT_BASE_URL);
        assert!(matches!(
            s.credentials,
            CredentialSource::Environment(AtlasCredentials::ServiceAccount { .. })
        ));
        assert!(!s.dry_run);
    }

    #[test]
    fn config_secret_wins() {
        let s = settings(&[
            ("ATLAS_PROJECT_IDS", PROJECT),
            ("ATLAS_CREDENTIALS_SECRET", "atlas/linker"),
            ("MONGODB_ATLAS_BASE_URL", "https://cloud.mongodbgov.com/"),
        ])
        .unwrap();
        assert_eq!(
            s.credentials,
            CredentialSource::SecretsManager("atlas/linker".into())
        );
        assert_eq!(s.base_url, "https://cloud.mongodbgov.com");
    }

    #[test]
    fn config_errors_name_the_setting() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "ATLAS_PROJECT_IDS is missing"),
            (
                vec![("ATLAS_PROJECT_IDS", "abc")],
                "ATLAS_PROJECT_IDS contains \"abc\"",
            ),
            (
                vec![("ATLAS_PROJECT_IDS", " , ")],
                "ATLAS_PROJECT_IDS lists no project id",
            ),
            (
                vec![("ATLAS_PROJECT_IDS", PROJECT)],
                "Atlas credentials are missing",
            ),
            (
                vec![
                    ("ATLAS_PROJECT_IDS", PROJECT),
                    ("MONGODB_ATLAS_CLIENT_ID", "x"),
                ],
                "MONGODB_ATLAS_CLIENT_SECRET is missing",
            ),
            (
                vec![
                    ("ATLAS_PROJECT_IDS", PROJECT),
                    ("MONGODB_ATLAS_PRIVATE_API_KEY", "x"),
                ],
                "MONGODB_ATLAS_PUBLIC_API_KEY is missing",
            ),
            (
                vec![
                    ("ATLAS_PROJECT_IDS", PROJECT),
                    ("ATLAS_CREDENTIALS_SECRET", "s"),
                    ("DRY_RUN", "maybe"),
                ],
                "DRY_RUN is \"maybe\"",
            ),
            (
                vec![
                    ("ATLAS_PROJECT_IDS", PROJECT),
                    ("ATLAS_CREDENTIALS_SECRET", "s"),
                    ("MONGODB_ATLAS_BASE_URL", "cloud.mongodb.com"),
                ],
                "MONGODB_ATLAS_BASE_URL",
            ),
            (
                vec![
                    ("ATLAS_PROJECT_IDS", PROJECT),
                    ("ATLAS_CREDENTIALS_SECRET", "s"),
                    ("MONGODB_ATLAS_BASE_URL", "https://user:pw@evil/x"),
                ],
                "MONGODB_ATLAS_BASE_URL",
            ),
        ];
        for (vars, expected) in cases {
            let error = settings(&vars).unwrap_err();
            assert!(error.0.contains(expected), "{vars:?}: {error}");
        }
    }

    #[test]
    fn config_error_hides_secret_values() {
        let error = settings(&[
            ("ATLAS_PROJECT_IDS", PROJECT),
            ("MONGODB_ATLAS_CLIENT_SECRET", "topsecretvalue"),
        ])
        .unwrap_err();
        assert!(!error.0.contains("topsecretvalue"));
    }

    #[test]
    fn config_debug_hides_secret() {
        let s = settings(&[
            ("ATLAS_PROJECT_IDS", PROJECT),
            ("MONGODB_ATLAS_PUBLIC_API_KEY", "pub"),
            ("MONGODB_ATLAS_PRIVATE_API_KEY", "topsecretvalue"),
        ])
        .unwrap();
        assert!(!format!("{s:?}").contains("topsecretvalue"));
    }

    #[test]
    fn config_reads_policy() {
        let s = settings(&[
            ("ATLAS_PROJECT_IDS", PROJECT),
            ("ATLAS_CREDENTIALS_SECRET", "s"),
            ("ALLOWED_ACCOUNT_IDS", "111122223333, 444455556666"),
            ("ALLOWED_VPC_IDS", "vpc-0123456789abcdef0"),
            ("OPT_OUT_TAG", "atlas-privatelink-linker:opt-out"),
        ])
        .unwrap();
        assert_eq!(s.policy.allowed_accounts.as_ref().map(Vec::len), Some(2));
        let repeated = settings(&[
            ("ATLAS_PROJECT_IDS", PROJECT),
            ("ATLAS_CREDENTIALS_SECRET", "s"),
            (
                "ALLOWED_ACCOUNT_IDS",
                "444455556666,111122223333,444455556666",
            ),
        ])
        .unwrap();
        let accounts = repeated.policy.allowed_accounts.unwrap();
        assert_eq!(accounts, ["444455556666", "111122223333"]);
        assert_eq!(s.policy.allowed_vpcs.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            s.policy.opt_out_tag.as_deref(),
            Some("atlas-privatelink-linker:opt-out")
        );
    }

    #[test]
    fn config_reads_cross_account_role() {
        let base = [
            ("ATLAS_PROJECT_IDS", PROJECT),
            ("ATLAS_CREDENTIALS_SECRET", "s"),
        ];
        assert_eq!(settings(&base).unwrap().cross_account_role, None);
        for name in [
            "atlas-privatelink-linker-read",
            "team/platform/Linker.Read+1@x",
        ] {
            let mut vars = base.to_vec();
            vars.push(("CROSS_ACCOUNT_ROLE_NAME", name));
            assert_eq!(
                settings(&vars).unwrap().cross_account_role.as_deref(),
                Some(name)
            );
        }
        let mut vars = base.to_vec();
        let long = "r".repeat(65);
        vars.push(("CROSS_ACCOUNT_ROLE_NAME", &long));
        assert!(settings(&vars).is_err());
    }

    #[test]
    fn config_rejects_bad_policy_and_role() {
        let cases = [
            (
                "ALLOWED_ACCOUNT_IDS",
                "1111-2222",
                "ALLOWED_ACCOUNT_IDS contains",
            ),
            ("ALLOWED_VPC_IDS", "subnet-1", "ALLOWED_VPC_IDS contains"),
            (
                "CROSS_ACCOUNT_ROLE_NAME",
                "arn:aws:iam::111122223333:role/Reader",
                "CROSS_ACCOUNT_ROLE_NAME is",
            ),
            (
                "CROSS_ACCOUNT_ROLE_NAME",
                "team//Reader",
                "CROSS_ACCOUNT_ROLE_NAME is",
            ),
            (
                "CROSS_ACCOUNT_ROLE_NAME",
                "/Reader",
                "CROSS_ACCOUNT_ROLE_NAME is",
            ),
            (
                "CROSS_ACCOUNT_ROLE_NAME",
                "Reader*",
                "CROSS_ACCOUNT_ROLE_NAME is",
            ),
        ];
        for (name, value, expected) in cases {
            let error = settings(&[
                ("ATLAS_PROJECT_IDS", PROJECT),
                ("ATLAS_CREDENTIALS_SECRET", "s"),
                (name, value),
            ])
            .unwrap_err();
            assert!(error.0.contains(expected), "{name}: {error}");
        }
    }

    #[test]
    fn config_rejects_malformed_base_urls() {
        for url in [
            "http://[",
            "http://127.0.0.1:99999",
            "http://:",
            "ftp://cloud.mongodb.com",
            "https://cloud.mongodb.com/api",
            "https://cloud.mongodb.com?x=1",
        ] {
            let error = settings(&[
                ("ATLAS_PROJECT_IDS", PROJECT),
                ("ATLAS_CREDENTIALS_SECRET", "s"),
                ("MONGODB_ATLAS_BASE_URL", url),
            ])
            .unwrap_err();
            assert!(error.0.contains("not a valid base URL"), "{url}: {error}");
        }
        for url in [
            "https://cloud.mongodbgov.com",
            "http://127.0.0.1:8085/",
            "http://[::1]:8085",
        ] {
            let parsed = settings(&[
                ("ATLAS_PROJECT_IDS", PROJECT),
                ("ATLAS_CREDENTIALS_SECRET", "s"),
                ("MONGODB_ATLAS_BASE_URL", url),
            ]);
            assert!(parsed.is_ok(), "{url}: {parsed:?}");
        }
    }

    #[test]
    fn config_url_error_can_hide_value() {
        let error =
            validate_url("base_url in secret s", "https://x/topsecretvalue", false).unwrap_err();
        assert!(!error.0.contains("topsecretvalue"), "{error}");
    }

    #[test]
    fn config_rejects_empty_allow_list() {
        let error = settings(&[
            ("ATLAS_PROJECT_IDS", PROJECT),
            ("ATLAS_CREDENTIALS_SECRET", "s"),
            ("ALLOWED_ACCOUNT_IDS", ","),
        ])
        .unwrap_err();
        assert!(error.0.contains("ALLOWED_ACCOUNT_IDS lists no"), "{error}");
    }

    #[test]
    fn config_dedups_projects() {
        let list = format!("{PROJECT}, {PROJECT},6a1b2c3d4e5f6a7b8c9d0e1f");
        let s = settings(&[
            ("ATLAS_PROJECT_IDS", &list),
            ("ATLAS_CREDENTIALS_SECRET", "s"),
        ])
        .unwrap();
        assert_eq!(s.projects.len(), 2);
    }
}
