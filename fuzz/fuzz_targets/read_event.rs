//! Fuzzes the event reader. Every input that parses as JSON goes through `read_meta` and
//! `read_event`, neither of which may panic, and every intent to link or unlink must carry only
//! well-formed endpoint ids.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use linker_domain::event::{Intent, read_event, read_meta};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    read_meta(&event);
    match read_event(&event) {
        Ok(Intent::Link(created)) => {
            assert_endpoint_id(created.endpoint_id.as_str());
            assert_service_name(created.service_name.as_str());
        }
        Ok(Intent::Unlink(deleted)) => {
            let failed: HashSet<&str> = deleted
                .unsuccessful
                .iter()
                .map(|(id, _)| id.as_str())
                .collect();
            let mut seen = HashSet::new();
            for id in &deleted.deleted {
                assert_endpoint_id(id.as_str());
                assert!(
                    !failed.contains(id.as_str()),
                    "{id} is both deleted and unsuccessful"
                );
                assert!(seen.insert(id.as_str()), "{id} is listed twice");
            }
        }
        Ok(Intent::Ignore(_)) | Err(_) => {}
    }
});

/// Returns true when `text` is exactly `len` lower-case hex digits.
fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Panics unless `id` matches `^vpce-[0-9a-f]{17}$`. The check is written apart from
/// `VpcEndpointId::parse`, so that it does not trust the code under test.
fn assert_endpoint_id(id: &str) {
    let valid = id
        .strip_prefix("vpce-")
        .is_some_and(|hex| is_lower_hex(hex, 17));
    assert!(valid, "intent carries the endpoint id {id:?}");
}

/// Panics unless `name` matches `^com\.amazonaws\.vpce\.[a-z0-9-]+\.vpce-svc-[0-9a-f]{17}$`.
fn assert_service_name(name: &str) {
    let valid = name
        .strip_prefix("com.amazonaws.vpce.")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(region, service)| {
            !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && service
                    .strip_prefix("vpce-svc-")
                    .is_some_and(|hex| is_lower_hex(hex, 17))
        });
    assert!(valid, "intent carries the service name {name:?}");
}
