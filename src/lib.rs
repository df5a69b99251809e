//! edgetap's core, as a library so that tests, benches and fuzz targets drive the same code
//! as the binary. Stages in data-flow order: [`capture`] → [`decode`] → [`flow`] →
//! [`reassembly`] → [`dispatch`] → dissectors → [`output`]; [`pipeline`] joins them.
#![forbid(unsafe_code)]

pub mod advisories;
pub mod api;
pub mod appliance;
pub mod capture;
pub mod decode;
pub mod detect;
pub mod dispatch;
pub mod eve;
pub mod flow;
pub mod identify;
pub mod learn;
pub mod output;
pub mod pipeline;
pub mod reassembly;
pub mod replay;
pub mod site;
pub mod snapshot;
pub mod store;
pub mod syslog;
pub mod telemetry;
