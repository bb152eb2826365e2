//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Brings Okta users and groups into a Backstage-compatible catalog.
#[derive(Debug, Parser)]
#[command(name = "orgsync", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub logging: LoggingArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest one or all configured Okta providers into the catalog.
    Sync(SyncArgs),
    /// Print the catalog as Backstage entity YAML or JSON.
    Export(ExportArgs),
    /// Start a fake Okta org, write a config for it, sync it and serve the
    /// catalog until Ctrl-C.
    Demo(DemoArgs),
    /// Load and validate the config without contacting Okta.
    Check(CheckArgs),
    /// Run as a service: sync every provider on its schedule and serve the
    /// catalog API, provider status and metrics over HTTP.
    Serve(crate::commands::serve::ServeArgs),
    /// Check each provider's Okta setup step by step and name the setting to
    /// change for each problem.
    Doctor(crate::commands::doctor::DoctorArgs),
    /// Generate a key pair for an Okta API Services app.
    Keygen(crate::commands::keygen::KeygenArgs),
}

#[derive(Debug, Args)]
pub struct LoggingArgs {
    /// Log format: `text` (default) or `json`.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "ORGSYNC_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax, e.g. `info` or `orgsync_okta=debug`
    /// [default: warn, or info when stderr is not a terminal].
    #[arg(long, global = true, env = "ORGSYNC_LOG")]
    pub log: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// App-config YAML file; repeat to merge several (later files win).
    #[arg(long = "config", short = 'c', value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Sync only this provider id [default: every configured provider].
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,

    /// Compute and print the change set; write nothing to the catalog.
    #[arg(long)]
    pub dry_run: bool,

    /// Apply this run even if the removal guard would stop it.
    #[arg(long)]
    pub approve_removals: bool,

    /// Summary format printed on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Progress display: `auto` shows bars on a terminal and log lines otherwise.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    Auto,
    Bars,
    Plain,
    None,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Output format: multi-document YAML or a JSON array.
    #[arg(long, value_enum, default_value_t = ExportFormat::Yaml)]
    pub format: ExportFormat,

    /// Export only this provider's entities.
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,

    /// Write to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's config, key and SQLite catalog
    /// [default: a new temporary folder, kept after the run].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Number of users in the generated org.
    #[arg(long, default_value_t = 500)]
    pub users: usize,

    /// Number of groups in the generated org.
    #[arg(long, default_value_t = 60)]
    pub groups: usize,

    /// Seed of the generated org; the same seed gives the same org.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,

    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,

    /// Stop after the first sync instead of serving the catalog.
    #[arg(long)]
    pub no_serve: bool,

    /// Serve on this address, such as 127.0.0.1:8080; port 0 picks a free
    /// port [default: 127.0.0.1:7007, or a free port when 7007 is taken].
    #[arg(long, value_name = "ADDRESS", conflicts_with = "no_serve")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}
