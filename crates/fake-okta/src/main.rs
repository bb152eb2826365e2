//! `fake-okta`: serves a fake Okta org until interrupted.
//!
//! It prints `fake-okta listening on http://HOST:PORT` on standard output
//! once it accepts connections, then the generated client's credentials if
//! asked. Logs go to standard error.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use fake_okta::auth::{GeneratedCredentials, KeyKind, SkewedClock};
use fake_okta::faults::{Burst, FaultConfig, Latency, SlowBody};
use fake_okta::generate::{from_recorded, generate_org, load_fixture, GenerateOptions};
use fake_okta::limits::RateLimitConfig;
use fake_okta::other_server::OtherServer;
use fake_okta::server::{FakeOkta, FakeOktaBuilder};

/// Serve a fake Okta org (users, groups, OAuth token endpoint) for tests,
/// demos and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "fake-okta", version)]
struct Args {
    /// Port to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Address to listen on. Keep the loopback default unless other hosts
    /// must reach the fake.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,

    /// Number of users of the generated org.
    #[arg(long, default_value_t = 200)]
    users: usize,

    /// Number of groups of the generated org, besides Everyone.
    #[arg(long, default_value_t = 40)]
    groups: usize,

    /// Number of memberships of the generated org; the default is ten per
    /// user.
    #[arg(long)]
    memberships: Option<usize>,

    /// Seed of the generated org; the same seed gives the same org.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Serve the org in this JSON fixture instead of a generated one.
    #[arg(long, conflicts_with = "from_recorded")]
    fixture: Option<PathBuf>,

    /// Serve the users and groups found in the recorded Okta exchanges
    /// (VCR YAML cassettes) under this directory.
    #[arg(long)]
    from_recorded: Option<PathBuf>,

    /// Space- or comma-separated scopes granted to the generated client.
    #[arg(long, default_value = "okta.users.read okta.groups.read")]
    scopes: String,

    /// Key type of the generated client.
    #[arg(long, value_enum, default_value_t = KeyType::Rsa2048)]
    key_type: KeyType,

    /// Print the generated client's settings (oktaUrl, clientId, keyId,
    /// privateKey) on standard output as YAML for orgsync's config, and
    /// nothing else there: the "listening" line goes to standard error.
    #[arg(long)]
    print_credentials: bool,

    /// Write the generated client's settings as YAML to this file, readable
    /// only by its owner.
    #[arg(long)]
    credentials_out: Option<PathBuf>,

    /// Rate limits: Okta's Workforce defaults, or none.
    #[arg(long, value_enum, default_value_t = RateLimits::Workforce)]
    rate_limits: RateLimits,

    /// Delay added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,

    /// Seed of fault injection.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,

    /// Share (0 to 1) of API requests that get 500, 502, 503 or 504.
    #[arg(long, default_value_t = 0.0)]
    fault_error_rate: f64,

    /// Share (0 to 1) of API requests whose connection is dropped.
    #[arg(long, default_value_t = 0.0)]
    fault_drop_rate: f64,

    /// Share (0 to 1) of API responses cut short of their Content-Length.
    #[arg(long, default_value_t = 0.0)]
    fault_truncate_rate: f64,

    /// Share (0 to 1) of API responses whose body is not valid JSON.
    #[arg(long, default_value_t = 0.0)]
    fault_malformed_rate: f64,

    /// Send 429 to the last N of every --fault-burst-every requests.
    #[arg(long, requires = "fault_burst_every")]
    fault_burst_length: Option<u64>,

    /// Length, in requests, of the period of 429 bursts.
    #[arg(long, requires = "fault_burst_length")]
    fault_burst_every: Option<u64>,

    /// Send response bodies in chunks of this many bytes, with a pause of
    /// --fault-slow-body-delay-ms between chunks.
    #[arg(long, requires = "fault_slow_body_delay_ms")]
    fault_slow_body_bytes: Option<usize>,

    /// Pause between slow body chunks, in milliseconds.
    #[arg(long, requires = "fault_slow_body_bytes")]
    fault_slow_body_delay_ms: Option<u64>,

    /// Inject faults only on paths starting with one of these prefixes
    /// (repeatable), such as /api/v1/groups/, or only on the exact path of
    /// a pattern that ends in `$`, such as /api/v1/groups$.
    #[arg(long = "fault-path")]
    fault_paths: Vec<String>,

    /// Serve this many API requests without faults first.
    #[arg(long, default_value_t = 0)]
    fault_after: u64,

    /// Inject faults into only this many API requests after --fault-after,
    /// then serve the rest normally [default: no limit].
    #[arg(long)]
    fault_requests: Option<u64>,

    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_seconds: u64,

    /// Seconds the org's clock runs ahead of this machine's (negative:
    /// behind). The Date header, token and client assertion times and
    /// rate-limit resets follow it.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_skew_seconds: i64,

    /// Serve a server that is not an Okta org in place of the org: a
    /// website (404 for every path but /) or a single-page app (the same
    /// HTML page for every path).
    #[arg(long, value_enum)]
    other_server: Option<OtherServerKind>,

    /// Log line format on standard error.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KeyType {
    Rsa2048,
    EcP256,
    EcP384,
    EcP521,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OtherServerKind {
    Website,
    SinglePageApp,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RateLimits {
    Workforce,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging(args.log_format);

    let builder = configure(&args).await?;
    let addr = SocketAddr::new(args.host, args.port);
    let fake = builder
        .start(addr)
        .await
        .with_context(|| format!("starting fake-okta on {addr}"))?;

    // The listening line tells scripts the fake is ready, so the credentials
    // file is written before it.
    let settings = fake
        .credentials
        .as_ref()
        .map(|credentials| credentials_yaml(&fake.base_url, credentials));
    if let (Some(settings), Some(path)) = (&settings, &args.credentials_out) {
        write_private_file(path, settings)?;
    }
    let mut stdout = std::io::stdout().lock();
    match (&settings, args.print_credentials) {
        // Standard output is the YAML alone, so that it can be redirected
        // into a config file. Scripts read the URL from its oktaUrl.
        (Some(settings), true) => {
            eprintln!("fake-okta listening on {}", fake.base_url);
            write!(stdout, "{settings}")?;
        }
        _ => writeln!(stdout, "fake-okta listening on {}", fake.base_url)?,
    }
    stdout.flush()?;
    drop(stdout);

    wait_for_stop_signal().await?;
    fake.shutdown().await;
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Turns the options into a builder, loading or generating the org.
async fn configure(args: &Args) -> anyhow::Result<FakeOktaBuilder> {
    let mut builder = FakeOkta::builder()
        .rate_limits(match args.rate_limits {
            RateLimits::Workforce => RateLimitConfig::workforce(),
            RateLimits::None => RateLimitConfig::unlimited(),
        })
        .faults(fault_config(args)?)
        .token_ttl(Duration::from_secs(args.token_ttl_seconds));

    let skew = Duration::from_secs(args.clock_skew_seconds.unsigned_abs());
    if args.clock_skew_seconds > 0 {
        builder = builder.clock(Arc::new(SkewedClock::ahead(skew)));
    } else if args.clock_skew_seconds < 0 {
        builder = builder.clock(Arc::new(SkewedClock::behind(skew)));
    }
    builder = match args.other_server {
        Some(OtherServerKind::Website) => builder.other_server(OtherServer::Website),
        Some(OtherServerKind::SinglePageApp) => builder.other_server(OtherServer::SinglePageApp),
        None => builder,
    };

    builder = match (&args.fixture, &args.from_recorded) {
        (Some(path), _) => builder.org(load_fixture(path)?),
        (None, Some(dir)) => builder.org(from_recorded(dir)?),
        (None, None) => {
            let mut options = GenerateOptions::new(args.users, args.groups, args.seed);
            options.memberships = args.memberships;
            // Generating here rather than at start keeps the timing in the log.
            let org = tokio::task::spawn_blocking(move || generate_org(&options)).await?;
            builder.org(org)
        }
    };

    let scopes: Vec<&str> = args
        .scopes
        .split([' ', ','])
        .filter(|scope| !scope.is_empty())
        .collect();
    if scopes.is_empty() {
        bail!("--scopes is empty; grant at least okta.users.read or okta.groups.read");
    }
    let kind = match args.key_type {
        KeyType::Rsa2048 => KeyKind::Rsa2048,
        KeyType::EcP256 => KeyKind::EcP256,
        KeyType::EcP384 => KeyKind::EcP384,
        KeyType::EcP521 => KeyKind::EcP521,
    };
    Ok(builder.with_generated_client_key(kind, &scopes, None))
}

fn fault_config(args: &Args) -> anyhow::Result<FaultConfig> {
    let latency = match args.latency_ms {
        0 => Latency::None,
        millis => Latency::Fixed {
            delay: Duration::from_millis(millis),
        },
    };
    let rate_limit_bursts = match (args.fault_burst_every, args.fault_burst_length) {
        (Some(every), Some(length)) => Some(Burst { every, length }),
        _ => None,
    };
    let slow_body = match (args.fault_slow_body_bytes, args.fault_slow_body_delay_ms) {
        (Some(chunk_bytes), Some(delay)) => Some(SlowBody {
            chunk_bytes,
            delay: Duration::from_millis(delay),
        }),
        _ => None,
    };
    let config = FaultConfig {
        seed: args.fault_seed,
        latency,
        error_rate: args.fault_error_rate,
        rate_limit_bursts,
        drop_connection_rate: args.fault_drop_rate,
        truncate_body_rate: args.fault_truncate_rate,
        malformed_json_rate: args.fault_malformed_rate,
        slow_body,
        only_paths: (!args.fault_paths.is_empty()).then(|| args.fault_paths.clone()),
        after_requests: args.fault_after,
        faulted_requests: args.fault_requests,
    };
    config.validate().context("invalid --fault-* options")?;
    Ok(config)
}

/// Returns the client settings in the shape of orgsync's provider config.
fn credentials_yaml(base_url: &str, credentials: &GeneratedCredentials) -> String {
    let mut yaml = format!(
        "oktaUrl: {base_url}\nclientId: {}\nkeyId: {}\nprivateKey: |\n",
        credentials.client_id, credentials.key_id
    );
    for line in credentials.private_key_pem.lines() {
        yaml.push_str("  ");
        yaml.push_str(line);
        yaml.push('\n');
    }
    yaml
}

/// Writes `contents` to a new or truncated file that only its owner can read.
fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("{}: could not open for writing", path.display()))?;
    // An existing file keeps its old mode on open, so set it explicitly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("{}: could not restrict permissions", path.display()))?;
    }
    file.write_all(contents.as_bytes())
        .with_context(|| format!("{}: could not write", path.display()))?;
    Ok(())
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("listening for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")?;
    tracing::info!("stop signal received");
    Ok(())
}
