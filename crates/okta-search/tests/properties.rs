//! Property tests: the parser never panics, canonical text parses back to the
//! same expression, and quoted strings survive parsing unchanged.

use okta_search::{any_equal, parse, quote, Expression, Value};
use proptest::prelude::*;
use serde_json::json;

const TIMESTAMP_ATTRIBUTES: [&str; 7] = [
    "created",
    "lastUpdated",
    "statusChanged",
    "activated",
    "lastMembershipUpdated",
    "passwordChanged",
    "lastLogin",
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

/// Generates a keyword in lowercase, uppercase or capitalized.
fn keyword(word: &'static str) -> impl Strategy<Value = String> {
    let capitalized = format!("{}{}", word[..1].to_uppercase(), &word[1..]);
    prop_oneof![
        Just(word.to_owned()),
        Just(word.to_uppercase()),
        Just(capitalized),
    ]
}

fn one_of_keywords(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(words).prop_flat_map(keyword)
}

fn space() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(" "), Just("  "), Just("\t"), Just("\n ")]
}

/// Generates an attribute path that is neither a keyword nor a timestamp
/// attribute.
fn attribute() -> BoxedStrategy<String> {
    let generated = "[a-zA-Z_][a-zA-Z0-9_]{0,6}(\\.[a-zA-Z_][a-zA-Z0-9_-]{0,6}){0,2}"
        .prop_filter("keywords cannot be attributes", |path| {
            !matches!(path.to_lowercase().as_str(), "and" | "or" | "not")
        })
        .prop_filter("timestamp attributes need timestamps", |path| {
            !TIMESTAMP_ATTRIBUTES.contains(&path.as_str())
        });
    prop_oneof![
        Just("status".to_owned()),
        Just("profile.name".to_owned()),
        generated,
    ]
    .boxed()
}

fn string_literal() -> BoxedStrategy<String> {
    any::<String>().prop_map(|text| quote(&text)).boxed()
}

fn number_literal() -> BoxedStrategy<String> {
    prop_oneof![
        any::<i64>().prop_map(|number| number.to_string()),
        any::<u64>().prop_map(|number| number.to_string()),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |number| number.is_finite())
            .prop_map(|number| format!("{number:?}")),
    ]
    .boxed()
}

fn timestamp_literal() -> BoxedStrategy<String> {
    (1970..2100u32, 1..=12u32, 1..=28u32, 0..24u32, 0..60u32, 0..60u32, 0..1000u32).prop_map(
        |(year, month, day, hour, minute, second, millisecond)| {
            format!(
                "\"{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millisecond:03}Z\""
            )
        },
    )
    .boxed()
}

/// Generates the text of one condition whose value suits its operator.
///
/// Each alternative is boxed because the unboxed tuple strategies need stack
/// frames of tens of kilobytes in debug builds, which overflowed the 2 MiB
/// stack of a test thread once nested by `prop_recursive`.
fn condition() -> BoxedStrategy<String> {
    let any_value = prop_oneof![
        string_literal(),
        number_literal(),
        one_of_keywords(&["true", "false", "null"]),
    ]
    .boxed();
    let ordered_value = prop_oneof![string_literal(), number_literal()].boxed();
    let timestamp_attribute = proptest::sample::select(&TIMESTAMP_ATTRIBUTES[..]);

    let present = (attribute(), space(), keyword("pr"))
        .prop_map(|(a, s, o)| format!("{a}{s}{o}"))
        .boxed();
    let equal = (attribute(), keyword("eq"), any_value)
        .prop_map(|(a, o, v)| format!("{a} {o} {v}"))
        .boxed();
    let text_match = (
        attribute(),
        one_of_keywords(&["sw", "co"]),
        string_literal(),
    )
        .prop_map(|(a, o, v)| format!("{a} {o} {v}"))
        .boxed();
    let ordering = (
        attribute(),
        one_of_keywords(&["gt", "ge", "lt", "le"]),
        ordered_value,
    )
        .prop_map(|(a, o, v)| format!("{a} {o} {v}"))
        .boxed();
    let timestamp = (
        timestamp_attribute,
        one_of_keywords(&["eq", "gt", "ge", "lt", "le"]),
        timestamp_literal(),
    )
        .prop_map(|(a, o, v)| format!("{a} {o} {v}"))
        .boxed();

    prop_oneof![present, equal, text_match, ordering, timestamp].boxed()
}

/// Generates the text of an expression built from conditions with `and`, `or`, `not`
/// and parentheses, with keywords in mixed case and varied whitespace.
fn expression_text() -> BoxedStrategy<String> {
    condition()
        .prop_recursive(4, 32, 4, |inner| {
            let and = (
                inner.clone(),
                space(),
                keyword("and"),
                space(),
                inner.clone(),
            )
                .prop_map(|(a, s, k, t, b)| format!("{a}{s}{k}{t}{b}"))
                .boxed();
            let or = (
                inner.clone(),
                space(),
                keyword("or"),
                space(),
                inner.clone(),
            )
                .prop_map(|(a, s, k, t, b)| format!("{a}{s}{k}{t}{b}"))
                .boxed();
            let not_group = (keyword("not"), inner.clone())
                .prop_map(|(k, a)| format!("{k}({a})"))
                .boxed();
            let not_condition = (keyword("not"), condition())
                .prop_map(|(k, a)| format!("{k} {a}"))
                .boxed();
            let group = inner.prop_map(|a| format!("( {a} )")).boxed();
            prop_oneof![and, or, not_group, not_condition, group]
        })
        .boxed()
}

/// Generates text made of grammar fragments and stray characters, to reach deeper
/// parser states than uniformly random strings do.
fn fragment_soup() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        proptest::sample::select(
            &[
                "(",
                ")",
                " and ",
                " or ",
                "not ",
                " eq ",
                " pr",
                " sw ",
                " gt ",
                "\"",
                "'",
                "\\",
                "\\u",
                "\\ud83d",
                "\\udc00",
                "profile.name",
                "status",
                "created",
                "\"x\"",
                "\"2013-06-01T00:00:00.000Z\"",
                "1e5",
                "-",
                "01",
                "true",
                "null",
                ".",
                "é",
            ][..]
        )
        .prop_map(str::to_owned),
        "[ -~]{0,3}",
    ];
    prop::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

fn parse_ok(text: &str) -> Result<Expression, TestCaseError> {
    parse(text).map_err(|error| TestCaseError::fail(format!("{text:?}: {error}")))
}

/// Checks that parsing `text` returns, and that an error points inside the
/// text or one past its end.
fn check_total(text: &str) -> Result<(), TestCaseError> {
    match parse(text) {
        Ok(expression) => {
            let canonical = expression.to_string();
            prop_assert_eq!(parse_ok(&canonical)?, expression);
        }
        Err(error) => {
            let length = text.chars().count();
            prop_assert!(error.position >= 1, "{error}");
            prop_assert!(
                error.position <= length + 1,
                "{error} in {length} characters"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_total(&text)?;
    }

    #[test]
    fn fragment_soup_never_panics(text in fragment_soup()) {
        check_total(&text)?;
    }

    #[test]
    fn generated_text_parses(text in expression_text()) {
        parse_ok(&text)?;
    }

    #[test]
    fn display_round_trips(text in expression_text()) {
        let expression = parse_ok(&text)?;
        let canonical = expression.to_string();

        let reparsed = parse_ok(&canonical)?;
        prop_assert_eq!(&reparsed, &expression);
        prop_assert_eq!(reparsed.to_string(), canonical);
    }

    #[test]
    fn not_inverts_matches(text in expression_text()) {
        let expression = parse_ok(&text)?;
        let negated = parse_ok(&format!("not ({text})"))?;
        let user = json!({
            "status": "ACTIVE",
            "created": "2013-06-01T00:00:00.000Z",
            "profile": {"name": "Engineering", "level": 3},
        });
        prop_assert_eq!(negated.matches(&user), !expression.matches(&user));
    }

    #[test]
    fn quote_round_trips(text in any::<String>()) {
        let expression = parse_ok(&format!("profile.name eq {}", quote(&text)))?;
        let conditions = expression.conditions();
        prop_assert_eq!(conditions[0].value, Some(&Value::String(text)));
    }

    #[test]
    fn quoted_value_matches_itself(text in any::<String>()) {
        let expression = parse_ok(&format!("profile.name eq {}", quote(&text)))?;
        let group = json!({"profile": {"name": text}});
        prop_assert!(expression.matches(&group));
    }

    #[test]
    fn any_equal_round_trips(values in prop::collection::vec(any::<String>(), 1..6)) {
        let borrowed: Vec<&str> = values.iter().map(String::as_str).collect();
        let expression = parse_ok(&any_equal("profile.name", &borrowed))?;

        let parsed: Vec<&Value> = expression
            .conditions()
            .iter()
            .filter_map(|condition| condition.value)
            .collect();
        let expected: Vec<Value> = values.into_iter().map(Value::String).collect();
        prop_assert_eq!(parsed, expected.iter().collect::<Vec<_>>());
    }
}
