//! Log setup: `tracing` to stderr, as text or JSON.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, LoggingArgs};

/// The filter added when the user's filter does not mention sqlx. sqlx logs
/// each statement slower than a second at `warn` with its whole SQL text,
/// which for a catalog write is pages of placeholders. orgsync logs the
/// duration of its own database steps instead.
const SQLX_DEFAULT: &str = "sqlx::query=error";

/// Installs the global subscriber. On a terminal the default level is
/// `warn`, since progress bars show what is going on; elsewhere it is `info`,
/// so that scheduled runs leave a record. Colors are used only on a
/// terminal, and not when `NO_COLOR` is set.
pub fn init(args: &LoggingArgs) {
    let on_terminal = std::io::stderr().is_terminal();
    let level = if on_terminal { "warn" } else { "info" };
    let directives = filter_directives(args.log.as_deref(), level);

    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(directives))
        .with_ansi(on_terminal && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Returns the filter: the user's, or `default_level`, with sqlx's
/// statement logs quieted unless the user's filter names sqlx.
fn filter_directives(user: Option<&str>, default_level: &str) -> String {
    match user {
        Some(filter) if filter.contains("sqlx") => filter.to_string(),
        Some(filter) => format!("{filter},{SQLX_DEFAULT}"),
        None => format!("{default_level},{SQLX_DEFAULT}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_quiets_sqlx() {
        assert_eq!(filter_directives(None, "info"), "info,sqlx::query=error");
    }

    #[test]
    fn user_filter_keeps_sqlx_quiet() {
        assert_eq!(
            filter_directives(Some("debug"), "warn"),
            "debug,sqlx::query=error"
        );
    }

    #[test]
    fn user_sqlx_filter_wins() {
        assert_eq!(
            filter_directives(Some("info,sqlx=debug"), "warn"),
            "info,sqlx=debug"
        );
    }
}
