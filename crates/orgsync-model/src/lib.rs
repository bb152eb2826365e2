//! Backstage `User` and `Group` entities built from Okta users and groups.
//!
//! This crate is pure: it does no I/O. The sync engine feeds it the Okta
//! records it read ([`okta`]) and stores the [`Entity`] values that
//! [`build_entities`] returns, after [`validate_entity`] accepts them.
//!
//! Terms used throughout:
//! - *entity ref*: `kind:namespace/name`, lower-cased, as Backstage compares
//!   refs case-insensitively.
//! - *provider*: one configured Okta org connection, named by its id. Every
//!   entity belongs to exactly one provider.
//! - *ingested*: a user or group for which an entity is built.

pub mod annotations;
pub mod build;
pub mod entity;
pub mod names;
pub mod okta;
pub mod options;
pub mod text;
pub mod validate;

pub use build::{build_entities, BuildOutput, BuildWarning, OktaSnapshot};
pub use entity::{Entity, EntityMetadata, EntityRef, Relation};
pub use okta::{OktaGroup, OktaUser};
pub use options::{GroupNaming, GroupTypeRule, SelectionOptions, TransformOptions, UserNaming};
pub use validate::{validate_entity, ValidationError};
