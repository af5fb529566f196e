//! The pure part of atlas-privatelink-linker: identifiers, reading CloudTrail events, the
//! verdict table and the result the functions report. Nothing here performs I/O, so it builds
//! fast and can be fuzzed on its own.

pub mod event;
pub mod ids;
pub mod report;
pub mod verdict;
