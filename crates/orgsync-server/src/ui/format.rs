//! Times, durations, counts and run outcomes as the pages show them.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

/// Renders a `time` element showing `at` in UTC to the minute, with the exact
/// instant in `datetime` and in the tooltip.
pub fn time(at: DateTime<Utc>) -> Markup {
    let exact = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    html! {
        time datetime=(exact) title=(exact) { (at.format("%Y-%m-%d %H:%M UTC")) }
    }
}

/// Formats a duration in milliseconds as "850 ms", "12.4 s", "3 min 05 s" or
/// "2 h 07 min".
pub fn duration_ms(milliseconds: u64) -> String {
    const MINUTE: u64 = 60_000;
    const HOUR: u64 = 60 * MINUTE;
    if milliseconds < 1000 {
        format!("{milliseconds} ms")
    } else if milliseconds < MINUTE {
        // One decimal; the integer math avoids a float cast.
        format!("{}.{} s", milliseconds / 1000, (milliseconds % 1000) / 100)
    } else if milliseconds < HOUR {
        format!(
            "{} min {:02} s",
            milliseconds / MINUTE,
            (milliseconds % MINUTE) / 1000
        )
    } else {
        format!(
            "{} h {:02} min",
            milliseconds / HOUR,
            (milliseconds % HOUR) / MINUTE
        )
    }
}

/// Formats a schedule interval in seconds as "45 s", "30 min", "1 h 30 min" or
/// "2 d", leaving out zero parts.
pub fn interval(seconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = seconds;
    for (size, unit) in UNITS {
        if rest >= size {
            parts.push(format!("{} {unit}", rest / size));
            rest %= size;
        }
    }
    if parts.is_empty() {
        return "0 s".to_string();
    }
    parts.join(" ")
}

/// Formats a count with a narrow no-break space between thousands
/// ("12 345"), as SI style writes numbers, so that it reads the same in
/// every locale.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    grouped
}

/// Renders a badge with the label of a run outcome name. Its class picks
/// the color.
pub fn outcome_badge(outcome: &str) -> Markup {
    let label = match outcome {
        "succeeded" => "Succeeded",
        "failed" => "Failed",
        "dry_run" => "Dry run",
        "blocked" => "Blocked",
        "cancelled" => "Cancelled",
        "running" => "Running",
        other => other,
    };
    html! { span class={ "badge " (outcome) } { (label) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(12_449), "12.4 s");
        assert_eq!(duration_ms(185_000), "3 min 05 s");
        assert_eq!(duration_ms(7_620_000), "2 h 07 min");
    }

    #[test]
    fn intervals_leave_out_zero_parts() {
        assert_eq!(interval(1800), "30 min");
        assert_eq!(interval(5400), "1 h 30 min");
        assert_eq!(interval(172_800), "2 d");
        assert_eq!(interval(0), "0 s");
    }

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(7), "7");
        assert_eq!(count(1000), "1\u{202f}000");
        assert_eq!(count(1_234_567), "1\u{202f}234\u{202f}567");
    }

    #[test]
    fn time_shows_minutes_in_utc() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T18:40:12Z")
            .unwrap()
            .with_timezone(&Utc);
        let markup = time(at).into_string();
        assert!(markup.contains(">2026-12-04 18:40 UTC<"));
        assert!(markup.contains("datetime=\"2026-12-04T18:40:12Z\""));
    }

    #[test]
    fn outcome_badge_names_the_outcome() {
        let markup = outcome_badge("dry_run").into_string();
        assert_eq!(markup, "<span class=\"badge dry_run\">Dry run</span>");
    }
}
