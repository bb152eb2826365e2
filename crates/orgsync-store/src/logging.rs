//! The log levels of the SQL statements that the stores run.
//!
//! By default sqlx logs every statement at debug level and statements
//! slower than one second as warnings, each with its whole SQL text. The
//! catalog's bulk statements are long and a large sync is expected to take
//! seconds, so those warnings flood the log without anything to act on.
//! Here every statement is logged at trace level and slow ones at debug.

use std::time::Duration;

use log::LevelFilter;
use sqlx::ConnectOptions;

/// Statements that take longer are logged at debug level.
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// Sets the statement log levels of `options`.
pub(crate) fn quiet_statement_logs<O: ConnectOptions>(options: O) -> O {
    options
        .log_statements(LevelFilter::Trace)
        .log_slow_statements(LevelFilter::Debug, SLOW_STATEMENT)
}
