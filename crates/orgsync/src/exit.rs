//! Exit codes, documented in README.md ("Exit codes").

/// Everything asked for was done.
pub const SUCCESS: u8 = 0;
/// A run failed (Okta, network or database error); the catalog is unchanged.
pub const FAILURE: u8 = 1;
/// The config or the command line is invalid; nothing was contacted.
pub const CONFIG: u8 = 2;
/// The removal guard stopped a run; nothing was applied.
pub const BLOCKED: u8 = 3;
/// A signal (Ctrl-C or SIGTERM) stopped the command before it finished, and
/// the stopped run left the catalog unchanged. Shells report 130 for a
/// process ended by SIGINT.
pub const INTERRUPTED: u8 = 130;
