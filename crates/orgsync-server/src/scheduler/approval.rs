//! Approvals of runs that the removal guard blocked.
//!
//! When the guard blocks a run, the provider's *removal review* records the
//! run's numbers. An admin approves them once (`POST
//! /api/orgsync/providers/{id}/approve`). The next run of the provider then
//! applies if it removes at most the approved number of entities. A run
//! that applies clears the review, and a run blocked again replaces it with
//! its own numbers, which need a new approval. Runs that fail for other
//! reasons (Okta or database errors) keep the approval for the next run.
//!
//! NOTE: reviews are kept in memory only, so a restart loses a blocked run's
//! numbers until the next blocked run records them again.

use chrono::{DateTime, Utc};
use orgsync_sync::{SyncError, SyncReport};
use serde::Serialize;

use super::status::StatusBoard;

/// A blocked run waiting for approval, or an approval waiting for a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum RemovalReview {
    /// The last run was blocked and is not approved yet.
    #[serde(rename_all = "camelCase")]
    Blocked {
        /// Entities the run would have removed.
        removed: usize,
        /// The provider's entities before the run.
        existing: usize,
        blocked_at: DateTime<Utc>,
    },
    /// An admin approved the blocked run's numbers; the next run that
    /// removes at most `removed` entities applies.
    #[serde(rename_all = "camelCase")]
    Approved {
        removed: usize,
        existing: usize,
        approved_at: DateTime<Utc>,
    },
}

/// A reason an approval was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// No provider has this id.
    #[error(
        "no provider has the id {provider:?}; GET /api/orgsync/providers lists the configured ones"
    )]
    UnknownProvider { provider: String },
    /// The provider has no blocked run.
    #[error(
        "provider {provider} has no run blocked by the removal guard to approve; a run blocked \
         since this server started shows as removalReview in GET /api/orgsync/providers/{provider}"
    )]
    NothingBlocked { provider: String },
}

/// Records `provider`'s blocked run as approved and returns the approval.
/// Approving an approval again returns it unchanged.
pub(crate) fn approve(
    board: &StatusBoard,
    provider: &str,
    now: DateTime<Utc>,
) -> Result<RemovalReview, ApprovalError> {
    let outcome = board.update_removal_review(provider, |review| match review {
        Some(RemovalReview::Blocked {
            removed, existing, ..
        }) => {
            let approved = RemovalReview::Approved {
                removed: *removed,
                existing: *existing,
                approved_at: now,
            };
            *review = Some(approved.clone());
            Ok(approved)
        }
        Some(approved @ RemovalReview::Approved { .. }) => Ok(approved.clone()),
        None => Err(ApprovalError::NothingBlocked {
            provider: provider.to_string(),
        }),
    });
    outcome.unwrap_or_else(|| {
        Err(ApprovalError::UnknownProvider {
            provider: provider.to_string(),
        })
    })
}

/// Returns the number of removals approved for `provider`'s next run.
pub(crate) fn approved_removals(board: &StatusBoard, provider: &str) -> Option<usize> {
    board
        .update_removal_review(provider, |review| match review {
            Some(RemovalReview::Approved { removed, .. }) => Some(*removed),
            _ => None,
        })
        .flatten()
}

/// Updates `provider`'s review after a run: an applied run clears it, a
/// blocked run records its numbers, and other failures leave it as it is.
pub(crate) fn run_finished(
    board: &StatusBoard,
    provider: &str,
    result: &Result<SyncReport, SyncError>,
    now: DateTime<Utc>,
) {
    board.update_removal_review(provider, |review| match result {
        Ok(report) if !report.dry_run => *review = None,
        Ok(_) => {}
        Err(error) => {
            if let Some((removed, existing)) = error.blocked_removals() {
                tracing::warn!(
                    provider,
                    removed,
                    existing,
                    "run blocked by the removal guard; approve it with POST /api/orgsync/providers/{provider}/approve"
                );
                *review = Some(RemovalReview::Blocked {
                    removed,
                    existing,
                    blocked_at: now,
                });
            }
        }
    });
}
