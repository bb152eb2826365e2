//! Backstage `User` and `Group` entities built from Okta users and groups.
//!
//! This crate is pure: it does no I/O. The sync engine feeds it the Okta
//! records it read ([`okta`]) and stores the [`Entity`] values it returns.
//!
//! Terms used throughout:
//! - *entity ref*: `kind:namespace/name`, lower-cased, as Backstage compares
//!   refs case-insensitively.
//! - *provider*: one configured Okta org connection, named by its id. Every
//!   entity belongs to exactly one provider.

pub mod entity;
pub mod okta;

pub use entity::{Entity, EntityMetadata, EntityRef, Relation};
pub use okta::{OktaGroup, OktaUser};
