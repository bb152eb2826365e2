//! `orgsync sync`: run one or all providers once.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use orgsync_config::{AppConfig, ProviderConfig};
use orgsync_server::scheduler::claims;
use orgsync_server::scheduler::clock::SystemClock;
use orgsync_store::{ChangeSet, Store, StoreClient};
use orgsync_sync::{SyncError, SyncOptions, SyncReport};
use tokio_util::sync::CancellationToken;

use crate::cli::{OutputFormat, ProgressMode, SyncArgs};
use crate::commands::{load_config, missing_sqlite_file, open_store, unknown_provider};
use crate::{exit, progress};

/// How many refs of each kind of change the text summary lists.
const LISTED_CHANGES: usize = 20;

pub async fn run(args: SyncArgs) -> u8 {
    let config = match load_config(&args.config.files) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let providers = match select_providers(&config, args.provider.as_deref()) {
        Ok(providers) => providers,
        Err(code) => return code,
    };
    let store = match open_sync_store(&config, args.dry_run).await {
        Ok(store) => store,
        Err(code) => return code,
    };

    let options = SyncOptions {
        dry_run: args.dry_run,
        approve_removals: args.approve_removals,
        approved_removals: None,
    };
    let outcomes = sync_all(&providers, store, &options, args.progress).await;
    print_outcomes(&outcomes, args.format, args.dry_run);
    print_approval_hints(&outcomes, &args.config.files);
    exit_code(&outcomes)
}

/// Opens the catalog store. A dry run against a SQLite catalog that does not
/// exist yet plans against an empty in-memory catalog, so that it creates
/// no file.
async fn open_sync_store(config: &AppConfig, dry_run: bool) -> Result<Arc<dyn Store>, u8> {
    let Some(path) = missing_sqlite_file(&config.database).filter(|_| dry_run) else {
        return open_store(config).await;
    };
    tracing::info!(path = %path.display(), "the catalog does not exist yet; the dry run plans against an empty one");
    let mut empty = config.clone();
    empty.database.connection = ":memory:".to_string();
    open_store(&empty).await
}

/// Prints, for each run the removal guard stopped, the exact command that
/// applies it once, with the same config files.
fn print_approval_hints(outcomes: &[Result<SyncReport, SyncError>], files: &[PathBuf]) {
    let configs: Vec<String> = files
        .iter()
        .map(|file| format!("--config {}", shell_quote(&file.to_string_lossy())))
        .collect();
    for outcome in outcomes {
        let Err(
            SyncError::RemovalBlocked { provider, .. } | SyncError::WouldEmpty { provider, .. },
        ) = outcome
        else {
            continue;
        };
        eprintln!(
            "to apply provider {provider}'s run once anyway, run: orgsync sync {} --provider {} \
             --approve-removals",
            configs.join(" "),
            shell_quote(provider)
        );
    }
}

/// Quotes `text` for a POSIX shell when it contains anything but plain
/// path characters.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Runs the providers one after another, stopping the current run (with no
/// change to the catalog) on Ctrl-C or SIGTERM. A run that has started
/// writing the catalog finishes its transaction first. A second signal
/// exits at once, so the database rolls the unfinished transaction back.
pub async fn sync_all(
    providers: &[&ProviderConfig],
    store: Arc<dyn Store>,
    options: &SyncOptions,
    mode: ProgressMode,
) -> Vec<Result<SyncReport, SyncError>> {
    let cancel = CancellationToken::new();
    let watcher = tokio::spawn(stop_on_signals(cancel.clone()));

    let holder = claims::holder_name();
    let mut outcomes = Vec::with_capacity(providers.len());
    for provider in providers {
        if cancel.is_cancelled() {
            break;
        }
        let progress = progress::for_mode(mode, &provider.id);
        let outcome = if options.dry_run {
            // A dry run writes no entities, so it may run beside another run.
            orgsync_sync::run_provider(provider, store.as_ref(), options, progress, cancel.clone())
                .await
        } else {
            run_claimed(provider, &store, &holder, options, progress, &cancel).await
        };
        outcomes.push(outcome);
    }
    // A caller that goes on after the runs (`orgsync demo` serving) handles
    // Ctrl-C itself.
    watcher.abort();
    outcomes
}

/// How long a command's claim lasts unless renewed. The claim is renewed
/// every third of this while the run goes on, so it can be short, and a
/// command that was killed blocks other runs of its provider only this long.
const COMMAND_CLAIM_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `provider` while holding its claim in the store, as `orgsync serve`
/// does, so that a command and a server (or two commands) never run one
/// provider at once. Holding the claim also proves that runs still recorded
/// as running were left by a process that stopped, so they are marked
/// abandoned first.
async fn run_claimed(
    provider: &ProviderConfig,
    store: &Arc<dyn Store>,
    holder: &str,
    options: &SyncOptions,
    progress: Arc<dyn orgsync_sync::Progress>,
    cancel: &CancellationToken,
) -> Result<SyncReport, SyncError> {
    let ttl = COMMAND_CLAIM_TTL;
    let store_error = |source| SyncError::Store {
        provider: provider.id.clone(),
        source,
    };
    let mut claimed = store
        .try_claim(&provider.id, holder, Utc::now(), ttl)
        .await
        .map_err(store_error)?;
    if !claimed {
        // A command or server that was killed leaves its claim behind until
        // it expires. A SQLite file is used on one host only, so a holder
        // whose process is gone from this host can be taken over at once.
        // Replicas on PostgreSQL may share a host name in containers, so
        // there the claim is left to expire.
        let current = if store.client() == StoreClient::Sqlite {
            store
                .claim_holder(&provider.id)
                .await
                .map_err(store_error)?
        } else {
            None
        };
        if let Some(gone) = current.filter(|current| claims::holder_is_gone(current)) {
            tracing::info!(provider = %provider.id, holder = %gone, "taking over the claim of a stopped process");
            store
                .release_claim(&provider.id, &gone)
                .await
                .map_err(store_error)?;
            claimed = store
                .try_claim(&provider.id, holder, Utc::now(), ttl)
                .await
                .map_err(store_error)?;
        }
    }
    if !claimed {
        return Err(SyncError::Busy {
            provider: provider.id.clone(),
        });
    }
    claims::abandon_orphaned_runs(store.as_ref(), &provider.id).await;

    // Losing the claim cancels this run only; a signal cancels every run.
    let run_cancel = cancel.child_token();
    let renewal = tokio::spawn(claims::renew_claim(
        Arc::clone(store),
        Arc::new(SystemClock),
        provider.id.clone(),
        holder.to_string(),
        ttl,
        run_cancel.clone(),
    ));
    let outcome =
        orgsync_sync::run_provider(provider, store.as_ref(), options, progress, run_cancel).await;
    renewal.abort();
    if let Err(error) = store.release_claim(&provider.id, holder).await {
        tracing::warn!(provider = %provider.id, %error, "releasing the provider's claim failed; it expires on its own");
    }
    outcome
}

/// Cancels `cancel` on the first Ctrl-C or SIGTERM and exits the process on
/// the second.
async fn stop_on_signals(cancel: CancellationToken) {
    let Some(first) = next_stop_signal().await else {
        return;
    };
    eprintln!(
        "{first}: stopping; the catalog stays as it was unless the run is already \
         writing it, in which case the write finishes (send the signal again to exit now)"
    );
    cancel.cancel();

    let Some(second) = next_stop_signal().await else {
        return;
    };
    eprintln!("{second} again: exiting now; the database rolls back the unfinished write");
    std::process::exit(i32::from(exit::INTERRUPTED));
}

/// Waits for Ctrl-C or SIGTERM and returns its name, or `None` when the
/// signal handlers cannot be installed.
#[cfg(unix)]
async fn next_stop_signal() -> Option<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};

    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(terminate) => terminate,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the run");
            return tokio::signal::ctrl_c().await.ok().map(|()| "interrupted");
        }
    };
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.ok().map(|()| "interrupted"),
        _ = terminate.recv() => Some("terminated"),
    }
}

#[cfg(not(unix))]
async fn next_stop_signal() -> Option<&'static str> {
    tokio::signal::ctrl_c().await.ok().map(|()| "interrupted")
}

fn select_providers<'a>(
    config: &'a AppConfig,
    wanted: Option<&str>,
) -> Result<Vec<&'a ProviderConfig>, u8> {
    let Some(wanted) = wanted else {
        if config.providers.is_empty() {
            eprintln!(
                "error: no Okta provider is configured; add one under catalog.providers.okta \
                 (see docs/configuration.md)"
            );
            return Err(exit::CONFIG);
        }
        return Ok(config.providers.iter().collect());
    };

    match config
        .providers
        .iter()
        .find(|provider| provider.id == wanted)
    {
        Some(provider) => Ok(vec![provider]),
        None => Err(unknown_provider(config, wanted)),
    }
}

pub fn exit_code(outcomes: &[Result<SyncReport, SyncError>]) -> u8 {
    let failed = outcomes
        .iter()
        .any(|outcome| matches!(outcome, Err(error) if !error.is_blocked()));
    let blocked = outcomes
        .iter()
        .any(|outcome| matches!(outcome, Err(error) if error.is_blocked()));
    let interrupted = outcomes
        .iter()
        .any(|outcome| matches!(outcome, Err(SyncError::Cancelled { .. })));
    if interrupted {
        exit::INTERRUPTED
    } else if failed {
        exit::FAILURE
    } else if blocked {
        exit::BLOCKED
    } else {
        exit::SUCCESS
    }
}

pub fn print_outcomes(
    outcomes: &[Result<SyncReport, SyncError>],
    format: OutputFormat,
    dry_run: bool,
) {
    match format {
        OutputFormat::Json => {
            let values: Vec<serde_json::Value> = outcomes
                .iter()
                .map(|outcome| match outcome {
                    Ok(report) => serde_json::json!({ "ok": true, "report": report }),
                    Err(error) => serde_json::json!({
                        "ok": false,
                        "blocked": error.is_blocked(),
                        "error": error.to_string(),
                    }),
                })
                .collect();
            println!("{}", serde_json::Value::Array(values));
        }
        OutputFormat::Text => {
            for outcome in outcomes {
                match outcome {
                    Ok(report) => print_report(report, dry_run),
                    Err(error) => eprintln!("error: {error}"),
                }
            }
        }
    }
}

fn print_report(report: &SyncReport, dry_run: bool) {
    let changes = &report.changes;
    let nothing_to_change =
        changes.added.is_empty() && changes.updated.is_empty() && changes.removed.is_empty();
    let verb = match (dry_run, nothing_to_change) {
        (true, true) => "nothing to change (dry run, catalog not written)",
        (true, false) => "would change (dry run, catalog not written)",
        (false, true) => "nothing to change",
        (false, false) => "applied",
    };
    println!(
        "provider {}: {verb} in {:.1} s",
        report.provider,
        report.duration_ms as f64 / 1000.0
    );
    println!(
        "  added {}, updated {}, removed {}, unchanged {}, conflicts {}",
        changes.added.len(),
        changes.updated.len(),
        changes.removed.len(),
        changes.unchanged,
        changes.conflicts.len()
    );
    println!(
        "  users {}, groups {}, memberships {}",
        report.users, report.groups, report.memberships
    );
    let by_endpoint: Vec<String> = report
        .api_calls_by_endpoint
        .iter()
        .map(|(endpoint, calls)| format!("{endpoint} {calls}"))
        .collect();
    println!(
        "  API calls {} ({}), retries {}, rate-limit waits {}",
        report.api_calls,
        by_endpoint.join(", "),
        report.retries,
        report.rate_limit_waits
    );
    if dry_run {
        print_change_lists(changes);
    }
    for conflict in &changes.conflicts {
        println!(
            "  conflict: {} is owned by provider {}; left with its owner",
            conflict.entity_ref, conflict.owner
        );
    }
    for warning in &report.warnings {
        println!("  warning: {warning}");
    }
}

fn print_change_lists(changes: &ChangeSet) {
    for (label, refs) in [
        ("add", &changes.added),
        ("update", &changes.updated),
        ("remove", &changes.removed),
    ] {
        for entity_ref in refs.iter().take(LISTED_CHANGES) {
            println!("  {label} {entity_ref}");
        }
        if refs.len() > LISTED_CHANGES {
            println!(
                "  … and {} more to {label} (use --format json for the full list)",
                refs.len() - LISTED_CHANGES
            );
        }
    }
}
