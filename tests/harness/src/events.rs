//! Sample events under `<workspace>/events` and rewriting of the ids in them.
//!
//! The samples are EventBridge envelopes of CloudTrail records for
//! `CreateVpcEndpoint` and `DeleteVpcEndpoints`. Their VPC, endpoint and
//! service ids are placeholders, and tests replace them with the ids of
//! resources created in moto before invoking a function.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{HarnessError, workspace};

/// Returns `<workspace>/events`.
pub fn events_dir() -> Result<PathBuf, HarnessError> {
    Ok(workspace::workspace_root()?.join("events"))
}

/// Lists the `*.json` files in [`events_dir`], sorted by name.
pub fn event_files() -> Result<Vec<PathBuf>, HarnessError> {
    let dir = events_dir()?;
    let entries = std::fs::read_dir(&dir).map_err(|source| HarnessError::Read {
        path: dir.clone(),
        source,
    })?;

    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| HarnessError::Read {
                path: dir.clone(),
                source,
            })?
            .path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Loads a sample event by name from [`events_dir`]. The `.json` extension
/// may be left out, so `create-interface-endpoint` loads
/// `events/create-interface-endpoint.json`.
pub fn load_event(name: &str) -> Result<Value, HarnessError> {
    let mut path = events_dir()?.join(name);
    if path.extension().is_none() {
        path.set_extension("json");
    }
    load_event_file(&path)
}

/// Loads and parses one JSON file.
pub fn load_event_file(path: &Path) -> Result<Value, HarnessError> {
    let text = std::fs::read_to_string(path).map_err(|source| HarnessError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| HarnessError::ParseJson {
        path: path.to_path_buf(),
        source,
    })
}

/// Returns a copy of `value` with ids replaced in every string value, at any
/// depth. Object keys are left alone.
///
/// A key is replaced wherever it appears as a whole token: the characters
/// next to it must not be ASCII letters or digits. So a string equal to a key
/// becomes the mapped value, and a key inside an ARN, a DNS name or a service
/// name (`com.amazonaws.vpce.us-east-1.vpce-svc-...`) is replaced in place,
/// while `vpc-0a1` inside `vpc-0a1b2` is not. Longer keys are tried first,
/// and replaced text is not scanned again, so mappings do not chain.
pub fn rewrite_ids<K, V>(value: &Value, replacements: impl IntoIterator<Item = (K, V)>) -> Value
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut rules: Vec<(String, String)> = replacements
        .into_iter()
        .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    rules.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    rewrite_value(value, &rules)
}

fn rewrite_value(value: &Value, rules: &[(String, String)]) -> Value {
    match value {
        Value::String(s) => Value::String(rewrite_str(s, rules)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| rewrite_value(v, rules)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), rewrite_value(v, rules)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
}

fn rewrite_str(text: &str, rules: &[(String, String)]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;

    'scan: while i < text.len() {
        let starts_token = i == 0 || !is_token_char(bytes[i - 1]);
        if starts_token {
            for (from, to) in rules {
                let end = i + from.len();
                let ends_token =
                    end == text.len() || (end < text.len() && !is_token_char(bytes[end]));
                if ends_token && text[i..].starts_with(from.as_str()) {
                    out.push_str(to);
                    i = end;
                    continue 'scan;
                }
            }
        }
        let ch = text[i..]
            .chars()
            .next()
            .expect("i is below len and on a char boundary");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Collects every token of the form `<prefix><hex digits>` in the string
/// values of `value`, such as `find_ids(&event, "vpce-")` for endpoint ids.
///
/// Tokens follow the same boundary rule as [`rewrite_ids`], and the part after
/// the prefix must be lower-case hex, so `vpce-svc-0a1` does not count as a
/// `vpce-` id.
pub fn find_ids(value: &Value, prefix: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    collect_ids(value, prefix, &mut ids);
    ids
}

fn collect_ids(value: &Value, prefix: &str, ids: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => collect_ids_in_str(s, prefix, ids),
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, prefix, ids)),
        Value::Object(map) => map.values().for_each(|v| collect_ids(v, prefix, ids)),
        _ => {}
    }
}

fn collect_ids_in_str(text: &str, prefix: &str, ids: &mut BTreeSet<String>) {
    let bytes = text.as_bytes();
    for (start, _) in text.match_indices(prefix) {
        if start > 0 && is_token_char(bytes[start - 1]) {
            continue;
        }
        let digits_start = start + prefix.len();
        let digits_len = bytes[digits_start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        let end = digits_start + digits_len;
        let ends_token = end == text.len() || !is_token_char(bytes[end]);
        if digits_len > 0 && ends_token {
            ids.insert(text[start..end].to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "detail-type": "AWS API Call via CloudTrail",
            "detail": {
                "eventName": "CreateVpcEndpoint",
                "requestParameters": {
                    "CreateVpcEndpointRequest": {
                        "VpcId": "vpc-0a1b2c3d4e5f60718",
                        "ServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                        "SubnetId": [{ "content": "subnet-11111111", "tag": 1 }]
                    }
                },
                "responseElements": {
                    "CreateVpcEndpointResponse": {
                        "vpcEndpoint": {
                            "vpcEndpointId": "vpce-0aaaaaaaaaaaaaaaa",
                            "vpcId": "vpc-0a1b2c3d4e5f60718",
                            "dnsEntrySet": {
                                "item": [{ "dnsName": "vpce-0aaaaaaaaaaaaaaaa-abcd.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com" }]
                            }
                        }
                    }
                }
            },
            "resources": ["arn:aws:ec2:us-east-1:111122223333:vpc-endpoint/vpce-0aaaaaaaaaaaaaaaa"],
            "count": 3
        })
    }

    #[test]
    fn rewrite_whole_strings() {
        let event = sample();
        let out = rewrite_ids(&event, [("vpc-0a1b2c3d4e5f60718", "vpc-new")]);
        let request = &out["detail"]["requestParameters"]["CreateVpcEndpointRequest"];
        assert_eq!(request["VpcId"], "vpc-new");
        let endpoint =
            &out["detail"]["responseElements"]["CreateVpcEndpointResponse"]["vpcEndpoint"];
        assert_eq!(endpoint["vpcId"], "vpc-new");
    }

    #[test]
    fn rewrite_inside_strings() {
        let event = sample();
        let out = rewrite_ids(
            &event,
            [
                ("vpce-0aaaaaaaaaaaaaaaa", "vpce-fresh"),
                ("vpce-svc-0123456789abcdef0", "vpce-svc-moto"),
            ],
        );
        assert_eq!(
            out["resources"][0],
            "arn:aws:ec2:us-east-1:111122223333:vpc-endpoint/vpce-fresh"
        );
        let request = &out["detail"]["requestParameters"]["CreateVpcEndpointRequest"];
        assert_eq!(
            request["ServiceName"],
            "com.amazonaws.vpce.us-east-1.vpce-svc-moto"
        );
        let endpoint =
            &out["detail"]["responseElements"]["CreateVpcEndpointResponse"]["vpcEndpoint"];
        assert_eq!(endpoint["vpcEndpointId"], "vpce-fresh");
        assert_eq!(
            endpoint["dnsEntrySet"]["item"][0]["dnsName"],
            "vpce-fresh-abcd.vpce-svc-moto.us-east-1.vpce.amazonaws.com"
        );
    }

    #[test]
    fn rewrite_whole_service_name() {
        let event = sample();
        let from = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";
        let out = rewrite_ids(
            &event,
            [
                (from, "com.example.other"),
                ("vpce-svc-0123456789abcdef0", "unused"),
            ],
        );
        let request = &out["detail"]["requestParameters"]["CreateVpcEndpointRequest"];
        assert_eq!(request["ServiceName"], "com.example.other");
    }

    #[test]
    fn rewrite_respects_boundaries() {
        let value = json!(["vpc-0a1b2", "vpc-0a1", "x-vpc-0a1", "avpc-0a1", "vpc-0a1.x"]);
        let out = rewrite_ids(&value, [("vpc-0a1", "vpc-9")]);
        assert_eq!(
            out,
            json!(["vpc-0a1b2", "vpc-9", "x-vpc-9", "avpc-0a1", "vpc-9.x"])
        );
    }

    #[test]
    fn rewrite_does_not_chain() {
        let value = json!("vpc-1 vpc-2");
        let out = rewrite_ids(&value, [("vpc-1", "vpc-2"), ("vpc-2", "vpc-3")]);
        assert_eq!(out, json!("vpc-2 vpc-3"));
    }

    #[test]
    fn rewrite_keeps_other_values() {
        let value = json!({ "vpc-1": ["vpc-1", 1, true, null, 2.5] });
        let out = rewrite_ids(&value, [("vpc-1", "vpc-2"), ("", "ignored")]);
        assert_eq!(out, json!({ "vpc-1": ["vpc-2", 1, true, null, 2.5] }));
    }

    #[test]
    fn rewrite_from_hash_map() {
        let map = std::collections::HashMap::from([(
            "subnet-11111111".to_owned(),
            "subnet-2".to_owned(),
        )]);
        let out = rewrite_ids(&sample(), &map);
        let request = &out["detail"]["requestParameters"]["CreateVpcEndpointRequest"];
        assert_eq!(request["SubnetId"][0]["content"], "subnet-2");
    }

    #[test]
    fn rewrite_non_ascii_text() {
        let value = json!("é vpc-1 ü");
        assert_eq!(
            rewrite_ids(&value, [("vpc-1", "vpc-2")]),
            json!("é vpc-2 ü")
        );
    }

    #[test]
    fn find_endpoint_ids() {
        let ids = find_ids(&sample(), "vpce-");
        let expected: BTreeSet<String> = ["vpce-0aaaaaaaaaaaaaaaa".to_owned()].into();
        assert_eq!(ids, expected);
    }

    #[test]
    fn find_vpc_ids() {
        let ids = find_ids(&sample(), "vpc-");
        let expected: BTreeSet<String> = ["vpc-0a1b2c3d4e5f60718".to_owned()].into();
        assert_eq!(ids, expected);
    }

    #[test]
    fn load_missing_event() {
        let error = load_event_file(Path::new("/nonexistent/event.json")).unwrap_err();
        assert!(matches!(error, HarnessError::Read { .. }), "{error}");
    }

    #[test]
    fn load_invalid_event() {
        let path =
            std::env::temp_dir().join(format!("harness-invalid-{}.json", std::process::id()));
        std::fs::write(&path, "{ not json").unwrap();
        let error = load_event_file(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(error, HarnessError::ParseJson { .. }), "{error}");
    }

    #[test]
    fn workspace_events_parse() {
        // The directory may be empty, and every file in it must parse.
        for path in event_files().unwrap() {
            let event = load_event_file(&path).unwrap();
            assert!(event.is_object(), "{} is not a JSON object", path.display());
        }
    }
}
