//! The warnings and counters collected while building, and the cleaning of
//! profile strings that may add to them.

use tracing::debug;

use super::{BuildOutput, BuildWarning};
use crate::text::{clean_text, MAX_TEXT_BYTES};
use crate::Entity;

/// Warnings and counters of one build.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub warnings: Vec<BuildWarning>,
    pub skipped_users: usize,
    pub skipped_groups: usize,
    pub dropped_memberships: usize,
    pub unknown_members: usize,
}

impl Report {
    /// Records a warning about one record (or the options, when `okta_id`
    /// is empty).
    pub fn warn(&mut self, okta_id: &str, message: String) {
        debug!(okta_id, %message, "build warning");
        self.warnings.push(BuildWarning {
            okta_id: okta_id.to_string(),
            message,
        });
    }

    /// Cleans a profile string for an entity, warning when it had to be
    /// cut. Returns `None` when nothing printable is left.
    pub fn clean(&mut self, okta_id: &str, field: &str, raw: Option<&str>) -> Option<String> {
        let cleaned = clean_text(raw?);
        if cleaned.truncated {
            self.warn(
                okta_id,
                format!("{field} is longer than {MAX_TEXT_BYTES} bytes and was cut to that size"),
            );
        }
        Some(cleaned.text).filter(|text| !text.is_empty())
    }

    /// Turns the report into the build's output, with warnings sorted so
    /// that the output does not depend on input order.
    pub fn finish(mut self, entities: Vec<Entity>) -> BuildOutput {
        self.warnings.sort();
        BuildOutput {
            entities,
            warnings: self.warnings,
            skipped_users: self.skipped_users,
            skipped_groups: self.skipped_groups,
            dropped_memberships: self.dropped_memberships,
            unknown_members: self.unknown_members,
        }
    }
}
