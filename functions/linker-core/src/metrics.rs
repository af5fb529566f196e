//! CloudWatch Embedded Metric Format records: one JSON line per project and invocation that
//! CloudWatch turns into metrics, so alarms can watch mismatches and errors.
//!
//! Each record publishes under two dimension sets, `[ProjectId]` and `[]`, so one alarm can
//! watch every project at once. Counts that belong to no project (ignored events, errors before
//! a project is known) use the project id `none`.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::domain::report::{Action, EndpointReport};
use crate::domain::verdict::Verdict;

/// The CloudWatch namespace of all metrics.
pub const NAMESPACE: &str = "AtlasPrivateLinkLinker";

/// The project id used for counts that belong to no project.
pub const NO_PROJECT: &str = "none";

/// The metric names, in the order they are published.
pub const METRIC_NAMES: [&str; 7] = [
    "Linked",
    "Unlinked",
    "InSync",
    "Converging",
    "Mismatch",
    "Ignored",
    "Errors",
];

/// Counts per metric name, per project.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    counts: BTreeMap<String, BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Adds one to `metric` for `project`.
    pub fn add(&mut self, project: &str, metric: &'static str) {
        *self
            .counts
            .entry(project.to_owned())
            .or_default()
            .entry(metric)
            .or_default() += 1;
    }

    /// Counts what one endpoint report shows: the action taken and the verdict.
    pub fn add_report(&mut self, report: &EndpointReport) {
        let project = report
            .project_id
            .as_ref()
            .map_or(NO_PROJECT, |p| p.as_str());
        match report.action {
            Action::Linked => self.add(project, "Linked"),
            Action::Unlinked => self.add(project, "Unlinked"),
            Action::Ignored => self.add(project, "Ignored"),
            _ => {}
        }
        match report.verdict {
            Some(Verdict::InSync) => self.add(project, "InSync"),
            Some(Verdict::Converging) => self.add(project, "Converging"),
            Some(Verdict::Mismatch) => self.add(project, "Mismatch"),
            None => {}
        }
    }

    /// Returns the count of `metric` for `project`.
    pub fn count(&self, project: &str, metric: &str) -> u64 {
        self.counts
            .get(project)
            .and_then(|m| m.get(metric))
            .copied()
            .unwrap_or(0)
    }

    /// Builds one EMF record per project, with every metric present (zero when not counted) so
    /// that alarms see explicit zeros instead of missing data.
    pub fn records(&self, function_name: &str, timestamp_ms: u64) -> Vec<Value> {
        self.counts
            .iter()
            .map(|(project, counts)| {
                let definitions: Vec<Value> = METRIC_NAMES
                    .iter()
                    .map(|name| json!({"Name": name, "Unit": "Count"}))
                    .collect();
                let mut record = Map::new();
                record.insert(
                    "_aws".to_owned(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": NAMESPACE,
                            "Dimensions": [["ProjectId"], []],
                            "Metrics": definitions,
                        }],
                    }),
                );
                record.insert("ProjectId".to_owned(), json!(project));
                record.insert("FunctionName".to_owned(), json!(function_name));
                for name in METRIC_NAMES {
                    record.insert(
                        name.to_owned(),
                        json!(counts.get(name).copied().unwrap_or(0)),
                    );
                }
                Value::Object(record)
            })
            .collect()
    }

    /// Writes the records to standard output, where Lambda's log stream carries them to
    /// CloudWatch.
    pub fn emit(&self) {
        let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let mut stdout = std::io::stdout().lock();
        for record in self.records(&function_name, now) {
            // A failed write to stdout has nowhere better to be reported.
            let _ = writeln!(stdout, "{record}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_record_shape() {
        let mut metrics = Metrics::default();
        metrics.add("5f1a2b3c4d5e6f7a8b9c0d1e", "Linked");
        metrics.add("5f1a2b3c4d5e6f7a8b9c0d1e", "Converging");
        metrics.add(NO_PROJECT, "Ignored");
        let records = metrics.records("linker-events", 1_700_000_000_000);
        assert_eq!(records.len(), 2);
        let record = records
            .iter()
            .find(|r| r["ProjectId"] == "5f1a2b3c4d5e6f7a8b9c0d1e")
            .unwrap();
        assert_eq!(record["Linked"], 1);
        assert_eq!(record["Converging"], 1);
        assert_eq!(record["Mismatch"], 0);
        let directive = &record["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["ProjectId"], []]));
        assert_eq!(
            directive["Metrics"].as_array().unwrap().len(),
            METRIC_NAMES.len()
        );
        assert_eq!(record["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    #[test]
    fn metrics_every_metric_defined_is_present() {
        let mut metrics = Metrics::default();
        metrics.add(NO_PROJECT, "Errors");
        let record = &metrics.records("f", 0)[0];
        for name in METRIC_NAMES {
            assert!(record.get(name).is_some(), "{name} missing");
        }
    }
}
