//! `orgsync serve`: orgsync as a long-lived service.
//!
//! The server runs each configured provider on its schedule
//! ([`scheduler`]), serves the catalog through a Backstage-compatible API
//! under `/api/catalog` ([`catalog`]), reports provider status under
//! `/api/orgsync` ([`providers`]) and Prometheus metrics at `/metrics`
//! ([`metrics`]), and documents every route at `/api/openapi.json`
//! ([`openapi`]). [`serve`] runs it all until a shutdown signal.
//!
//! Modules:
//! - [`app`]: the router, access checks, request logging;
//! - [`auth`]: the read and admin bearer tokens;
//! - [`error`]: API errors in Backstage's error body, and start-up errors;
//! - [`reload`]: SIGHUP config reload and shutdown signals;
//! - [`server`]: starting and stopping;
//! - [`session`]: sign-in for the web UI, sessions and CSRF tokens;
//! - [`settings`]: providers saved in the database, and the set the
//!   scheduler runs;
//! - [`ui`]: the web UI at `/`.

pub mod app;
pub mod auth;
pub mod catalog;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod providers;
pub mod reload;
pub mod routes;
pub mod scheduler;
pub mod server;
pub mod session;
pub mod settings;
pub mod ui;

#[cfg(test)]
mod testing;

pub use auth::{AuthConfig, Token};
pub use error::{ApiError, ServeError};
pub use server::{bind, serve, serve_on, RunningServer, ServeOptions, Server, ServerBuilder};
