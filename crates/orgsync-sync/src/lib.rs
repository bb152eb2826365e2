//! The sync engine: read one provider's Okta org, plan the catalog change,
//! and apply it in one atomic step.
//!
//! A run goes through these phases ([`Phase`]):
//! 1. *groups*: list the groups the provider's group filter selects;
//! 2. *users*: list the users (unless they can be taken from the member lists);
//! 3. *members*: list each ingested group's members, concurrently, while the
//!    users are listed (the two count against different rate-limit buckets);
//! 4. *build*: turn the records into Backstage entities ([`orgsync_model`]);
//! 5. *plan*: compare with the stored catalog and apply the removal guard;
//! 6. *apply*: replace the provider's entities in one transaction.
//!
//! Nothing is written to the catalog before phase 6, and phase 6 is a single
//! transaction, so a run that fails, times out or is cancelled at any point
//! leaves the catalog as it was.

mod engine;
mod error;
mod progress;
mod selection;

pub use engine::{run_provider, SyncOptions, SyncReport};
pub use error::SyncError;
pub use progress::{NoProgress, Phase, Progress};
pub use selection::{match_group_names, name_batches, NameMatch};
