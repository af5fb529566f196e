//! The pure part of the function: identifiers, reading events, the verdict table and the
//! result it reports. Nothing here performs I/O.

pub mod event;
pub mod ids;
pub mod report;
pub mod verdict;
