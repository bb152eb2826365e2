//! Log setup: `tracing` to stderr, as text or JSON.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, LoggingArgs};

/// Installs the global subscriber. On a terminal the default level is
/// `warn`, since progress bars show what is going on; elsewhere it is `info`,
/// so that scheduled runs leave a record.
pub fn init(args: &LoggingArgs) {
    let default = if std::io::stderr().is_terminal() {
        "warn"
    } else {
        "info"
    };
    let filter = args
        .log
        .as_deref()
        .map(EnvFilter::new)
        .unwrap_or_else(|| EnvFilter::new(default));

    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
