//! Shared library of the atlas-privatelink-linker functions.
//!
//! [`domain`] is pure: reading CloudTrail events, identifiers, the verdict table and the
//! result. [`linker`] contains the linking logic over the small traits in [`ports`]; [`atlas`] and
//! [`aws`] are the adapters behind them. [`handler`] ties them to the Lambda runtime.

pub mod atlas;
pub mod aws;
pub mod config;
pub use linker_domain as domain;
pub mod error;
pub mod handler;
pub mod linker;
pub mod logging;
pub mod metrics;
pub mod ports;
pub mod reconcile;
pub mod secret;
pub mod startup;
