//! A provider's sync schedule: how often it runs, how long a run may take
//! and how long to wait after start-up before the first run.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::context::{show, Context, KeyPath};
use crate::duration::{read_duration, Bounds};
use crate::read::{Fields, Strictness};

/// When a provider syncs.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// How often a sync starts.
    pub frequency: Frequency,
    /// How long one sync may run before it is cancelled.
    pub timeout: Duration,
    /// How long to wait after start-up before the first sync.
    pub initial_delay: Duration,
}

/// How often a sync starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frequency {
    /// A fixed interval between the starts of two syncs.
    Every(Duration),
    /// A cron expression in UTC; it was checked with croner's default
    /// parser, so `croner::Cron::from_str` accepts it.
    Cron(String),
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            frequency: Frequency::Every(DEFAULT_FREQUENCY),
            timeout: DEFAULT_TIMEOUT,
            initial_delay: DEFAULT_INITIAL_DELAY,
        }
    }
}

pub(crate) const DEFAULT_FREQUENCY: Duration = Duration::from_secs(30 * 60);
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
pub(crate) const DEFAULT_INITIAL_DELAY: Duration = Duration::from_secs(15);

pub(crate) const SCHEDULE_KEYS: &[&str] = &["frequency", "timeout", "initialDelay"];

/// Reads `schedule:`; every key is optional.
pub(crate) fn read_schedule(
    context: &mut Context,
    path: &KeyPath,
    map: &Map<String, Value>,
) -> Schedule {
    let fields = Fields::new(path, map);
    fields.check_keys(context, SCHEDULE_KEYS, &[], Strictness::Strict);
    let defaults = Schedule::default();

    let frequency = fields
        .raw("frequency")
        .and_then(|value| read_frequency(context, &path.key("frequency"), value))
        .unwrap_or(defaults.frequency);
    let timeout = fields
        .raw("timeout")
        .and_then(|value| read_duration(context, &path.key("timeout"), value, Bounds::Positive))
        .unwrap_or(defaults.timeout);
    let initial_delay = fields
        .raw("initialDelay")
        .and_then(|value| {
            read_duration(
                context,
                &path.key("initialDelay"),
                value,
                Bounds::NonNegative,
            )
        })
        .unwrap_or(defaults.initial_delay);

    let schedule = Schedule {
        frequency,
        timeout,
        initial_delay,
    };
    warn_if_timeout_too_long(context, path, &schedule);
    schedule
}

fn read_frequency(context: &mut Context, path: &KeyPath, value: &Value) -> Option<Frequency> {
    if let Value::Object(map) = value {
        if map.contains_key("cron") {
            return read_cron(context, path, map);
        }
    }
    if let Value::String(text) = value {
        if looks_like_cron(text) {
            context.error(
                path,
                Some(show(value)),
                "is a cron expression written as a plain string",
                format!("write it as {{ cron: '{}' }}", text.trim()),
            );
            return None;
        }
    }
    read_duration(context, path, value, Bounds::Positive).map(Frequency::Every)
}

fn read_cron(context: &mut Context, path: &KeyPath, map: &Map<String, Value>) -> Option<Frequency> {
    let cron_path = path.key("cron");
    if map.len() > 1 {
        context.error(
            path,
            Some(show(&Value::Object(map.clone()))),
            "mixes `cron` with other keys",
            "write either { cron: '*/30 * * * *' } or a duration, not both",
        );
        return None;
    }
    let pattern = Fields::new(path, map).string(context, "cron")?;
    match croner::Cron::from_str(&pattern) {
        Ok(cron) if cron.iter_after(reference_start()).next().is_none() => {
            context.error(
                &cron_path,
                Some(show(&Value::String(pattern.clone()))),
                "never runs, because no date matches it",
                "check the day-of-month and month fields, such as a 31st in a month that has 30 days",
            );
            None
        }
        Ok(_) => Some(Frequency::Cron(pattern)),
        Err(error) => {
            context.error(
                &cron_path,
                Some(show(&Value::String(pattern.clone()))),
                format!("is not a valid cron expression: {error}"),
                "write five fields, minute hour day-of-month month day-of-week, such as '*/30 * * * *'",
            );
            None
        }
    }
}

/// Returns whether a string that is not a duration parses as cron.
fn looks_like_cron(text: &str) -> bool {
    text.split_whitespace().count() >= 5 && croner::Cron::from_str(text).is_ok()
}

fn warn_if_timeout_too_long(context: &mut Context, path: &KeyPath, schedule: &Schedule) {
    let interval = match &schedule.frequency {
        Frequency::Every(interval) => Some(*interval),
        Frequency::Cron(pattern) => shortest_cron_interval(pattern),
    };
    let Some(interval) = interval else {
        return;
    };
    if schedule.timeout >= interval {
        context.warn(
            &path.key("timeout"),
            Some(iso(schedule.timeout)),
            format!("is not shorter than the time between syncs ({})", iso(interval)),
            "make the timeout shorter than the frequency, so that a stuck sync is cancelled before the next one is due",
        );
    }
}

/// Returns the shortest gap between the first runs of a cron schedule,
/// counted from a fixed instant so that the result does not depend on the clock.
///
/// NOTE: only the first 64 runs after 2026-01-01 UTC are looked at, so a
/// schedule whose gaps differ later in the year can have a shorter gap.
fn shortest_cron_interval(pattern: &str) -> Option<Duration> {
    let cron = croner::Cron::from_str(pattern).ok()?;
    let runs: Vec<DateTime<Utc>> = cron.iter_after(reference_start()).take(64).collect();
    runs.windows(2)
        .filter_map(|pair| (pair[1] - pair[0]).to_std().ok())
        .min()
}

/// Returns the instant cron schedules are checked from: fixed, so that
/// validation does not depend on the clock.
///
/// NOTE: a cron expression whose year field only matches years before 2026
/// is reported as never running, even when orgsync runs before 2026.
fn reference_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Formats a duration as ISO 8601, the form the config accepts.
pub(crate) fn iso(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    let millis = duration.subsec_millis();
    let mut text = String::from("PT");
    if hours > 0 {
        text.push_str(&format!("{hours}H"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}M"));
    }
    if millis > 0 {
        text.push_str(&format!("{seconds}.{millis:03}S"));
    } else if seconds > 0 || text == "PT" {
        text.push_str(&format!("{seconds}S"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(value: Value) -> (Schedule, Context) {
        let mut context = Context::default();
        let path = KeyPath::root().key("schedule");
        let schedule = read_schedule(&mut context, &path, value.as_object().unwrap());
        (schedule, context)
    }

    #[test]
    fn empty_schedule_uses_defaults() {
        let (read, _) = schedule(json!({}));
        assert_eq!(read, Schedule::default());
    }

    #[test]
    fn frequency_in_minutes() {
        let (read, _) = schedule(json!({"frequency": {"minutes": 5}, "timeout": "PT1M"}));
        assert_eq!(read.frequency, Frequency::Every(Duration::from_secs(300)));
    }

    #[test]
    fn cron_frequency_is_kept() {
        let (read, _) = schedule(json!({"frequency": {"cron": "*/30 * * * *"}}));
        assert_eq!(read.frequency, Frequency::Cron("*/30 * * * *".to_string()));
    }

    #[test]
    fn invalid_cron_is_reported_at_cron_key() {
        let (_, context) = schedule(json!({"frequency": {"cron": "every 5 minutes"}}));
        assert_eq!(context.errors[0].key_path, "schedule.frequency.cron");
    }

    #[test]
    fn impossible_cron_is_rejected() {
        let (_, context) = schedule(json!({"frequency": {"cron": "0 0 31 2 *"}}));
        assert!(context.errors[0].problem.starts_with("never runs"));
    }

    #[test]
    fn bare_cron_string_gets_fix() {
        let (_, context) = schedule(json!({"frequency": "*/30 * * * *"}));
        assert_eq!(
            context.errors[0].fix,
            "write it as { cron: '*/30 * * * *' }"
        );
    }

    #[test]
    fn timeout_not_shorter_than_frequency_warns() {
        let (_, context) = schedule(json!({"frequency": "PT30M", "timeout": {"minutes": 30}}));
        assert_eq!(context.warnings[0].key_path, "schedule.timeout");
    }

    #[test]
    fn timeout_against_cron_interval_warns() {
        let (_, context) =
            schedule(json!({"frequency": {"cron": "*/5 * * * *"}, "timeout": "PT10M"}));
        assert_eq!(context.warnings.len(), 1);
    }

    #[test]
    fn shorter_timeout_does_not_warn() {
        let (_, context) = schedule(json!({"frequency": "PT30M", "timeout": "PT10M"}));
        assert!(context.warnings.is_empty());
    }

    #[test]
    fn cron_interval_is_measured() {
        assert_eq!(
            shortest_cron_interval("0 */2 * * *"),
            Some(Duration::from_secs(7200))
        );
    }

    #[test]
    fn iso_formats_mixed_units() {
        assert_eq!(iso(Duration::from_secs(5400)), "PT1H30M");
    }

    #[test]
    fn iso_formats_zero() {
        assert_eq!(iso(Duration::ZERO), "PT0S");
    }
}
