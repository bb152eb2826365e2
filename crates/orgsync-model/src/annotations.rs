//! Annotation keys: the fixed ones orgsync sets on every entity, and the
//! keys of profile attributes copied into annotations.
//!
//! Backstage (`KubernetesValidatorFunctions.isValidAnnotationKey`) accepts
//! a key that is a *name segment*, optionally preceded by a *prefix* and a
//! `/`. The name segment follows the rules of an entity name, case kept, at
//! most 63 characters. The prefix is a DNS subdomain: dot-separated
//! lower-case labels of `[a-z0-9-]`, at most 253 characters.

use serde_json::Value;

use crate::names::MAX_NAME_LEN;

/// The Okta id of the user an entity was built from.
pub const USER_ID: &str = "okta.com/user-id";
/// The Okta login of the user an entity was built from.
pub const USER_LOGIN: &str = "okta.com/user-login";
/// The Okta id of the group an entity was built from.
pub const GROUP_ID: &str = "okta.com/group-id";
/// The Okta type (`OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`) of the group.
pub const GROUP_TYPE: &str = "okta.com/group-type";
/// Backstage's annotation naming the location that manages the entity.
pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
/// Backstage's annotation naming the location the entity came from first.
pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";

/// Annotation keys that orgsync sets itself; copied attributes never
/// replace them.
pub const RESERVED_KEYS: [&str; 6] = [
    USER_ID,
    USER_LOGIN,
    GROUP_ID,
    GROUP_TYPE,
    MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN_LOCATION,
];

/// The maximum length of an annotation key's prefix.
const MAX_PREFIX_LEN: usize = 253;

/// Builds the annotation key for a copied profile attribute.
///
/// The part of `prefix` before its first `/` is normalized to a DNS
/// subdomain, in lower case with other characters turned to `-`. The part
/// after it is prepended to `attribute`, and the two are normalized to a
/// name segment, keeping case and cut to 63 characters. Returns `None` when
/// no valid key results, because the attribute has no usable character or
/// the prefix is longer than 253 characters.
pub fn annotation_key(prefix: &str, attribute: &str) -> Option<String> {
    let (dns_part, name_part) = prefix.split_once('/').unwrap_or((prefix, ""));
    let dns = normalize_dns_subdomain(dns_part);
    let name = normalize_name_segment(&format!("{name_part}{attribute}"));

    if name.is_empty() || dns.len() > MAX_PREFIX_LEN {
        return None;
    }
    if dns.is_empty() {
        return Some(name);
    }
    Some(format!("{dns}/{name}"))
}

/// Renders a profile attribute as an annotation value: strings as they are,
/// numbers and booleans as their JSON text. Returns `None` for null, arrays
/// and objects, which have no single string form.
pub(crate) fn annotation_value(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Normalizes text to a name segment: ASCII letters and digits keep their
/// case, `-`, `_` and `.` are kept inside, anything else becomes `-`, runs
/// of separators collapse, the ends are trimmed and the result is cut to
/// 63 characters.
fn normalize_name_segment(raw: &str) -> String {
    let mut segment = String::new();
    let mut after_separator = true;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            segment.push(c);
            after_separator = false;
        } else if !after_separator {
            segment.push(if matches!(c, '-' | '_' | '.') { c } else { '-' });
            after_separator = true;
        }
    }

    segment.truncate(MAX_NAME_LEN);
    segment.trim_end_matches(['-', '_', '.']).to_string()
}

/// Normalizes text to a DNS subdomain: lower case, labels of `[a-z0-9-]`
/// without dashes at their ends, empty labels dropped.
fn normalize_dns_subdomain(raw: &str) -> String {
    let labels: Vec<String> = raw
        .split('.')
        .map(normalize_dns_label)
        .filter(|label| !label.is_empty())
        .collect();
    labels.join(".")
}

fn normalize_dns_label(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();

    let mut label = String::with_capacity(mapped.len());
    for c in mapped.chars() {
        if !(c == '-' && label.ends_with('-')) {
            label.push(c);
        }
    }
    let mut label = label.trim_matches('-').to_string();
    label.truncate(MAX_NAME_LEN);
    label.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::is_valid_annotation_key;

    #[test]
    fn default_prefix_keeps_attribute_case() {
        assert_eq!(
            annotation_key("okta.com/", "costCenter").as_deref(),
            Some("okta.com/costCenter")
        );
    }

    #[test]
    fn prefix_without_slash_is_dns_part() {
        assert_eq!(
            annotation_key("okta.com", "division").as_deref(),
            Some("okta.com/division")
        );
    }

    #[test]
    fn text_after_slash_prefixes_name() {
        assert_eq!(
            annotation_key("example.com/okta-", "title").as_deref(),
            Some("example.com/okta-title")
        );
    }

    #[test]
    fn empty_prefix_gives_bare_name() {
        assert_eq!(annotation_key("", "title").as_deref(), Some("title"));
    }

    #[test]
    fn prefix_is_lowercased() {
        assert_eq!(
            annotation_key("Example.COM/", "title").as_deref(),
            Some("example.com/title")
        );
    }

    #[test]
    fn odd_attribute_is_normalized() {
        assert_eq!(
            annotation_key("okta.com/", "cost center (€)").as_deref(),
            Some("okta.com/cost-center")
        );
    }

    #[test]
    fn symbol_attribute_has_no_key() {
        assert_eq!(annotation_key("okta.com/", "€€"), None);
    }

    #[test]
    fn long_attribute_is_cut() {
        let key = annotation_key("okta.com/", &"x".repeat(100));
        assert_eq!(key, Some(format!("okta.com/{}", "x".repeat(63))));
    }

    #[test]
    fn huge_prefix_has_no_key() {
        let prefix = format!("{}/", "a.".repeat(200));
        assert_eq!(annotation_key(&prefix, "title"), None);
    }

    #[test]
    fn odd_keys_are_valid() {
        let cases = [
            ("okta.com/", "a__b"),
            ("-bad-.-prefix-/", "x"),
            ("ok ta.com/", "Dept."),
            ("a..b/", "_x_"),
            ("x/-", "y"),
        ];
        for (prefix, attribute) in cases {
            let key = annotation_key(prefix, attribute).unwrap_or_default();
            assert!(
                is_valid_annotation_key(&key),
                "{prefix:?} {attribute:?} -> {key:?}"
            );
        }
    }

    #[test]
    fn strings_are_kept() {
        assert_eq!(
            annotation_value(&Value::from("R&D")).as_deref(),
            Some("R&D")
        );
    }

    #[test]
    fn numbers_become_text() {
        assert_eq!(annotation_value(&Value::from(42)).as_deref(), Some("42"));
    }

    #[test]
    fn booleans_become_text() {
        assert_eq!(
            annotation_value(&Value::from(true)).as_deref(),
            Some("true")
        );
    }

    #[test]
    fn arrays_are_skipped() {
        assert_eq!(annotation_value(&serde_json::json!(["a"])), None);
    }
}
