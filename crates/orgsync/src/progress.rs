//! Showing a run's progress: bars on a terminal, periodic log lines elsewhere.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use orgsync_sync::{Phase, Progress};

use crate::cli::ProgressMode;

/// Picks the display for `mode`: bars only when stderr is a terminal.
pub fn for_mode(mode: ProgressMode, provider: &str) -> Arc<dyn Progress> {
    let bars = match mode {
        ProgressMode::Auto => std::io::stderr().is_terminal(),
        ProgressMode::Bars => true,
        ProgressMode::Plain | ProgressMode::None => false,
    };
    match mode {
        ProgressMode::None => Arc::new(orgsync_sync::NoProgress),
        _ if bars => Arc::new(Bars::new(provider)),
        _ => Arc::new(LogLines::new(provider)),
    }
}

/// indicatif bars: groups, users, member lists and rate-limit waits.
struct Bars {
    _multi: MultiProgress,
    groups: ProgressBar,
    users: ProgressBar,
    members: ProgressBar,
    waits: ProgressBar,
    wait_count: AtomicU64,
    wait_millis: AtomicU64,
}

impl Bars {
    fn new(provider: &str) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let counter = ProgressStyle::with_template("{prefix:>10.bold} {spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressStyle::with_template(
            "{prefix:>10.bold} [{bar:30}] {pos}/{len} groups ({per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");

        let add = |prefix: &str, style: &ProgressStyle| {
            let progress = multi.add(ProgressBar::new_spinner());
            progress.set_style(style.clone());
            progress.set_prefix(prefix.to_string());
            progress
        };
        let groups = add("groups", &counter);
        groups.set_message(format!("waiting ({provider})"));
        let users = add("users", &counter);
        users.set_message("waiting");
        let members = add("members", &bar);
        let waits = add("rate limit", &counter);
        waits.set_message("no waits");

        Bars {
            _multi: multi,
            groups,
            users,
            members,
            waits,
            wait_count: AtomicU64::new(0),
            wait_millis: AtomicU64::new(0),
        }
    }
}

impl Progress for Bars {
    fn phase_started(&self, phase: Phase) {
        match phase {
            Phase::Groups => self.groups.enable_steady_tick(Duration::from_millis(120)),
            Phase::Users => self.users.enable_steady_tick(Duration::from_millis(120)),
            Phase::Build | Phase::Plan | Phase::Apply => {
                self.members.finish();
                self.waits.finish();
            }
            Phase::Members => {}
        }
    }

    fn groups_fetched(&self, count: usize) {
        self.groups.finish_with_message(format!("{count} listed"));
    }

    fn users_fetched(&self, count: usize) {
        self.users.finish_with_message(format!("{count} listed"));
    }

    fn member_lists_planned(&self, groups: usize) {
        self.members.set_length(groups as u64);
        self.members.set_position(0);
    }

    fn member_list_done(&self, _members: usize) {
        self.members.inc(1);
    }

    fn rate_limit_wait(&self, bucket: &str, wait: Duration) {
        let count = self.wait_count.fetch_add(1, Ordering::Relaxed) + 1;
        let millis = self
            .wait_millis
            .fetch_add(wait.as_millis() as u64, Ordering::Relaxed)
            + wait.as_millis() as u64;
        self.waits.set_message(format!(
            "{count} waits, {:.1} s in all (last: {bucket}, {:.1} s)",
            millis as f64 / 1000.0,
            wait.as_secs_f64()
        ));
    }

    fn retrying(&self, endpoint: &str, attempt: u32, reason: &str, wait: Duration) {
        self.waits.println(format!(
            "retrying {endpoint} (attempt {attempt}) in {:.1} s: {reason}",
            wait.as_secs_f64()
        ));
    }
}

/// Log lines for non-terminal output: one per phase, and member progress at
/// most every five seconds.
struct LogLines {
    provider: String,
    planned: AtomicUsize,
    done: AtomicUsize,
    last_line: Mutex<Instant>,
}

impl LogLines {
    fn new(provider: &str) -> LogLines {
        LogLines {
            provider: provider.to_string(),
            planned: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            last_line: Mutex::new(Instant::now()),
        }
    }
}

impl Progress for LogLines {
    fn phase_started(&self, phase: Phase) {
        tracing::info!(provider = %self.provider, phase = phase.as_str(), "phase started");
    }

    fn groups_fetched(&self, count: usize) {
        tracing::info!(provider = %self.provider, groups = count, "groups listed");
    }

    fn users_fetched(&self, count: usize) {
        tracing::info!(provider = %self.provider, users = count, "users listed");
    }

    fn member_lists_planned(&self, groups: usize) {
        self.planned.store(groups, Ordering::Relaxed);
    }

    fn member_list_done(&self, _members: usize) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let planned = self.planned.load(Ordering::Relaxed);
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        if done == planned || last.elapsed() >= Duration::from_secs(5) {
            *last = Instant::now();
            tracing::info!(provider = %self.provider, done, planned, "group members listed");
        }
    }

    fn rate_limit_wait(&self, bucket: &str, wait: Duration) {
        tracing::info!(
            provider = %self.provider,
            bucket,
            wait_ms = wait.as_millis() as u64,
            "waiting for the rate-limit window to reset"
        );
    }
}
