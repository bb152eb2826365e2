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
//! - [`other_server`]: servers that are not an Okta org, served in its place.
//! - [`server`]: assembling the router and starting the server.
//!
//! Start one in a test with [`server::FakeOkta::builder`], or run the
//! `fake-okta` binary (`fake-okta --port 0 --users 1000 --print-credentials`).
//!
//! # Fixture format
//!
//! [`generate::load_fixture`] reads an org from JSON:
//!
//! ```json
//! {
//!   "seed": 7,
//!   "users": [
//!     {"id": "00u1ana0000000000001", "profile": {"login": "ana@a.example", "firstName": "Ana"}},
//!     {"status": "STAGED", "profile": {"login": "zoe@b.example"}}
//!   ],
//!   "groups": [
//!     {"profile": {"name": "Platform", "parentGroup": "Engineering"}},
//!     {"type": "APP_GROUP", "profile": {"name": "ad-admins"}, "source": {"id": "0oa1"}}
//!   ],
//!   "memberships": {
//!     "Platform": ["ana@a.example", "00u1ana0000000000001"]
//!   }
//! }
//! ```
//!
//! Users and groups are Okta's JSON objects, and every field is optional
//! except `profile.login` (or `profile.email`, which then becomes the login)
//! on users and `profile.name` on groups. Missing fields get what Okta gives
//! a newly created object: a generated id, status `ACTIVE`, timestamps of
//! the load time, the default user type, `OKTA_GROUP`, and so on (see
//! [`org::complete_user`] and [`org::complete_group`]). `_links` are
//! ignored, and an `APP_GROUP`'s app is given as `source.id`. `seed`
//! (default 0) seeds the generated ids. `memberships` maps a group id or
//! name to user ids or logins. The org gets an Everyone group unless the
//! fixture has a `BUILT_IN` group named `Everyone`; either way Everyone
//! contains every user and cannot appear in `memberships`. Unknown
//! top-level keys are rejected.

pub mod api;
pub mod auth;
pub mod control;
pub mod errors;
pub mod faults;
pub mod generate;
pub mod limits;
pub mod org;
pub mod other_server;
pub mod server;
