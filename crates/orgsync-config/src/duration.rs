//! Durations, written as Backstage writes them.
//!
//! Two forms are accepted:
//! - a map of units, summed: `{ minutes: 1, seconds: 30 }` with the units
//!   `milliseconds`, `seconds`, `minutes`, `hours` and `days` (fractions
//!   allowed), like Backstage's `HumanDuration`;
//! - an ISO 8601 duration string: `PT30M`, `PT1H30M`, `P1D`, `P1W`,
//!   `PT0.5S`. Years and months are rejected because their length varies.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::context::{show, Context, KeyPath};
use crate::read::{as_number, describe};
use crate::suggest::closest;

/// The units of a duration map, with their length in seconds.
const UNITS: &[(&str, f64)] = &[
    ("milliseconds", 0.001),
    ("seconds", 1.0),
    ("minutes", 60.0),
    ("hours", 3600.0),
    ("days", 86_400.0),
];

/// Whether a duration may be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bounds {
    /// Longer than zero (frequencies, timeouts).
    Positive,
    /// Zero or longer (delays).
    NonNegative,
}

/// A problem with a duration value, as problem and fix texts.
type Issue = (String, String);

/// Reads the duration at `path`, recording an error when it is invalid.
pub(crate) fn read_duration(
    context: &mut Context,
    path: &KeyPath,
    value: &Value,
    bounds: Bounds,
) -> Option<Duration> {
    let parsed = match value {
        Value::String(text) => parse_iso(text),
        Value::Object(map) => parse_units(map),
        Value::Number(number) => Err(bare_number_issue(&number.to_string())),
        other => Err((
            format!("is {}, but a duration is expected", describe(other)),
            "write it as { minutes: 30 } or as an ISO 8601 duration such as PT30M".to_string(),
        )),
    };
    let checked = parsed.and_then(|duration| check_bounds(duration, bounds));
    match checked {
        Ok(duration) => Some(duration),
        Err((problem, fix)) => {
            context.error(path, Some(show(value)), problem, fix);
            None
        }
    }
}

fn check_bounds(duration: Duration, bounds: Bounds) -> Result<Duration, Issue> {
    if bounds == Bounds::Positive && duration.is_zero() {
        return Err((
            "is zero, but must be longer than zero".to_string(),
            "write a positive duration such as { minutes: 30 }".to_string(),
        ));
    }
    Ok(duration)
}

fn bare_number_issue(number: &str) -> Issue {
    (
        "is a number, but a duration is expected and the unit is unknown".to_string(),
        format!(
            "write {{ seconds: {number} }} or {{ minutes: {number} }}, or an ISO 8601 duration such as PT{number}S"
        ),
    )
}

/// Parses a map of units such as `{ minutes: 1, seconds: 30 }`.
pub(crate) fn parse_units(map: &Map<String, Value>) -> Result<Duration, Issue> {
    if map.is_empty() {
        return Err((
            "is an empty map".to_string(),
            "give at least one unit, such as { minutes: 30 }".to_string(),
        ));
    }
    let names: Vec<&str> = UNITS.iter().map(|(name, _)| *name).collect();
    let mut total_seconds = 0.0;

    for (key, amount) in map {
        let Some((_, unit_seconds)) = UNITS.iter().find(|(name, _)| name == key) else {
            return Err(unknown_unit_issue(key, &names));
        };
        let Some(amount) = as_number(amount) else {
            return Err((
                format!("has {key}: {}, which is not a number", show(amount)),
                format!("write {{ {key}: 30 }} with a plain number"),
            ));
        };
        if amount < 0.0 {
            return Err((
                format!("has a negative amount of {key}"),
                "write a duration of zero or more".to_string(),
            ));
        }
        total_seconds += amount * unit_seconds;
    }
    to_duration(total_seconds)
}

fn unknown_unit_issue(key: &str, names: &[&str]) -> Issue {
    let problem = format!("has the unknown unit `{key}`");
    if key == "cron" {
        return (
            problem,
            "a cron expression is only allowed for schedule.frequency".to_string(),
        );
    }
    let fix = match closest(key, names) {
        Some(unit) => format!("did you mean `{unit}`?"),
        None => format!("use {}", names.join(", ")),
    };
    (problem, fix)
}

fn to_duration(seconds: f64) -> Result<Duration, Issue> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        (
            "is too long".to_string(),
            "write a duration of at most a few days".to_string(),
        )
    })
}

/// Parses an ISO 8601 duration (`PT30M`, `P1DT12H`, `PT1.5S`).
pub(crate) fn parse_iso(text: &str) -> Result<Duration, Issue> {
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    if upper.starts_with('-') {
        return Err((
            "is negative".to_string(),
            "write a duration of zero or more".to_string(),
        ));
    }
    let Some(body) = upper.strip_prefix('P') else {
        return Err(not_iso_issue(trimmed));
    };
    let (date, time) = match body.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (body, None),
    };
    let mut seconds = parse_components(
        date,
        &[('Y', 0.0), ('M', 0.0), ('W', 604_800.0), ('D', 86_400.0)],
    )
    .map_err(|_| not_iso_issue(trimmed))?;
    if date.contains('Y') || date.contains('M') {
        let fix = if date.contains('M') {
            "for minutes put a T before them (PT30M); write months as days (P30D)"
        } else {
            "write it in days or weeks instead, such as P30D"
        };
        return Err((
            "uses years or months, whose length varies".to_string(),
            fix.to_string(),
        ));
    }
    if let Some(time) = time {
        if time.is_empty() {
            return Err(not_iso_issue(trimmed));
        }
        seconds += parse_components(time, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])
            .map_err(|_| not_iso_issue(trimmed))?;
    }
    if body.is_empty() {
        return Err(not_iso_issue(trimmed));
    }
    to_duration(seconds)
}

/// Sums `<number><unit>` components. Units must appear in the order of
/// `units`, each at most once, or the text is rejected.
fn parse_components(text: &str, units: &[(char, f64)]) -> Result<f64, ()> {
    let mut total = 0.0;
    let mut next_unit = 0;
    let mut number = String::new();

    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' || c == ',' {
            number.push(if c == ',' { '.' } else { c });
            continue;
        }
        let offset = units[next_unit..]
            .iter()
            .position(|(unit, _)| *unit == c)
            .ok_or(())?;
        let amount: f64 = number.parse().map_err(|_| ())?;
        total += amount * units[next_unit + offset].1;
        next_unit += offset + 1;
        number.clear();
    }
    if number.is_empty() {
        Ok(total)
    } else {
        Err(())
    }
}

/// Explains a string that is not ISO 8601; shorthand such as `30m` or
/// `30 minutes` gets the exact replacement.
fn not_iso_issue(text: &str) -> Issue {
    let problem = "is not a duration".to_string();
    if let Some((amount, unit)) = split_shorthand(text) {
        let (name, iso) = match unit {
            "ms" | "millisecond" | "milliseconds" => ("milliseconds", None),
            "s" | "sec" | "secs" | "second" | "seconds" => {
                ("seconds", Some(format!("PT{amount}S")))
            }
            "m" | "min" | "mins" | "minute" | "minutes" => {
                ("minutes", Some(format!("PT{amount}M")))
            }
            "h" | "hr" | "hrs" | "hour" | "hours" => ("hours", Some(format!("PT{amount}H"))),
            "d" | "day" | "days" => ("days", Some(format!("P{amount}D"))),
            _ => return (problem, general_fix()),
        };
        let fix = match iso {
            Some(iso) => format!("write {{ {name}: {amount} }} or {iso}"),
            None => format!("write {{ {name}: {amount} }}"),
        };
        return (problem, fix);
    }
    (problem, general_fix())
}

fn general_fix() -> String {
    "write it as { minutes: 30 } or as an ISO 8601 duration such as PT30M, PT1H or P1D".to_string()
}

/// Splits `30m`, `30 min` or `1.5 hours` into amount and unit.
fn split_shorthand(text: &str) -> Option<(&str, &str)> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (amount, unit) = text.split_at(split);
    let unit = unit.trim();
    if amount.is_empty() || unit.is_empty() {
        return None;
    }
    Some((amount, unit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn units(value: Value) -> Result<Duration, Issue> {
        parse_units(value.as_object().unwrap())
    }

    #[test]
    fn iso_minutes() {
        assert_eq!(parse_iso("PT30M"), Ok(Duration::from_secs(1800)));
    }

    #[test]
    fn iso_days_and_hours() {
        assert_eq!(parse_iso("P1DT2H"), Ok(Duration::from_secs(93_600)));
    }

    #[test]
    fn iso_weeks() {
        assert_eq!(parse_iso("P1W"), Ok(Duration::from_secs(604_800)));
    }

    #[test]
    fn iso_fractional_seconds() {
        assert_eq!(parse_iso("PT1.5S"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn iso_lowercase_is_accepted() {
        assert_eq!(parse_iso("pt15s"), Ok(Duration::from_secs(15)));
    }

    #[test]
    fn iso_months_are_rejected() {
        let (problem, _) = parse_iso("P1M").unwrap_err();
        assert!(problem.contains("months"));
    }

    #[test]
    fn iso_out_of_order_is_rejected() {
        assert!(parse_iso("PT5S3M").is_err());
    }

    #[test]
    fn iso_bare_p_is_rejected() {
        assert!(parse_iso("P").is_err());
    }

    #[test]
    fn iso_bare_pt_is_rejected() {
        assert!(parse_iso("PT").is_err());
    }

    #[test]
    fn iso_negative_is_rejected() {
        let (problem, _) = parse_iso("-PT5M").unwrap_err();
        assert_eq!(problem, "is negative");
    }

    #[test]
    fn shorthand_gets_exact_fix() {
        let (_, fix) = parse_iso("30m").unwrap_err();
        assert_eq!(fix, "write { minutes: 30 } or PT30M");
    }

    #[test]
    fn spelled_out_shorthand_gets_exact_fix() {
        let (_, fix) = parse_iso("2 hours").unwrap_err();
        assert_eq!(fix, "write { hours: 2 } or PT2H");
    }

    #[test]
    fn units_are_summed() {
        let duration = units(json!({"minutes": 1, "seconds": 30})).unwrap();
        assert_eq!(duration, Duration::from_secs(90));
    }

    #[test]
    fn unit_typo_gets_suggestion() {
        let (_, fix) = units(json!({"minute": 5})).unwrap_err();
        assert_eq!(fix, "did you mean `minutes`?");
    }

    #[test]
    fn negative_unit_is_rejected() {
        let (problem, _) = units(json!({"minutes": -5})).unwrap_err();
        assert!(problem.contains("negative"));
    }

    #[test]
    fn huge_duration_is_rejected() {
        let (problem, _) = units(json!({"days": 1e300})).unwrap_err();
        assert_eq!(problem, "is too long");
    }

    #[test]
    fn zero_is_rejected_when_positive_required() {
        let mut context = Context::default();
        let path = KeyPath::root().key("timeout");
        read_duration(
            &mut context,
            &path,
            &json!({"minutes": 0}),
            Bounds::Positive,
        );
        assert!(context.errors[0].problem.starts_with("is zero"));
    }

    #[test]
    fn zero_is_accepted_for_delays() {
        let mut context = Context::default();
        let path = KeyPath::root().key("initialDelay");
        let read = read_duration(&mut context, &path, &json!("PT0S"), Bounds::NonNegative);
        assert_eq!(read, Some(Duration::ZERO));
    }

    #[test]
    fn bare_number_names_units() {
        let mut context = Context::default();
        let path = KeyPath::root().key("timeout");
        read_duration(&mut context, &path, &json!(30), Bounds::Positive);
        assert!(context.errors[0]
            .fix
            .starts_with("write { seconds: 30 } or { minutes: 30 }"));
    }
}
