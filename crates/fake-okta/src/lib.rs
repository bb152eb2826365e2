//! fake-okta: an Okta org served over HTTP on a loopback port.
//!
//! It serves the parts of Okta that orgsync and Okta's own SDKs use (the
//! OAuth 2.0 token endpoint, the users and groups APIs, rate limits and
//! faults) from an in-memory org, so that tests, demos and benchmarks run
//! without a real Okta org.
//!
//! Modules:
//! - [`errors`]: Okta's two error body shapes (Management API and OAuth).
//! - [`auth`]: client registrations, `private_key_jwt` token requests, DPoP,
//!   SSWS API tokens, access tokens and scope checks.
//! - [`org`]: the org's users, groups and memberships.
//! - [`generate`]: the deterministic org generator and fixture loading.
//! - [`api`]: the `/api/v1/...` handlers, paging and admin-role scoping.
//! - [`limits`]: per-bucket rate limits and the concurrency limit.
//! - [`faults`]: seeded fault injection.
//! - [`control`]: the `/_fake/` control API and request counters.
//! - [`server`]: assembling the router and starting the server.

pub mod api;
pub mod auth;
pub mod control;
pub mod errors;
pub mod faults;
pub mod generate;
pub mod limits;
pub mod org;
pub mod server;
