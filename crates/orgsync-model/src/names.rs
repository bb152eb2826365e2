//! Entity names: from an Okta profile value to a valid, unique
//! `metadata.name`.
//!
//! Backstage (`@backstage/catalog-model`, `KubernetesValidatorFunctions.
//! isValidObjectName`) accepts names of 1 to 63 characters matching
//! `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$` and compares them
//! case-insensitively. orgsync writes names in lower case, so that a change
//! of case in Okta (`Platform` to `platform`) does not rename the entity.
//!
//! Terms used here:
//! - *base name*: a profile value after [`normalize_name`], possibly longer
//!   than 63 characters.
//! - *suffix*: `-` plus a short tag derived from the Okta id, appended to
//!   base names that collide or are too long.

use std::collections::{BTreeMap, HashSet};

use deunicode::deunicode;
use sha2::{Digest, Sha256};

use crate::text::floor_char_boundary;

/// The maximum length of an entity name.
pub const MAX_NAME_LEN: usize = 63;

/// How many characters of the Okta id a suffix uses at first.
const SUFFIX_LEN: usize = 6;

/// The maximum length of an id-derived suffix; hashes are tried after it.
const MAX_ID_SUFFIX_LEN: usize = 20;

/// How much of a raw value is normalized; the rest cannot reach the name.
const MAX_RAW_BYTES: usize = 1024;

/// Normalizes a profile value to Backstage's name alphabet, in lower case.
///
/// Accented and non-Latin letters are transliterated to ASCII, so `José`
/// gives `jose` and `山田` gives `shan-tian`. The separators `-`, `_` and `.`
/// are kept and any other character becomes `-`. A run of separators
/// collapses to its first one, and separators at either end are dropped,
/// so `R&D.` gives `r-d`. The result may be empty or longer than
/// [`MAX_NAME_LEN`], which callers handle with [`fallback_name`] and the
/// suffixes of name assignment.
pub fn normalize_name(raw: &str) -> String {
    let raw = &raw[..floor_char_boundary(raw, MAX_RAW_BYTES)];
    let ascii = deunicode(raw);

    let mut name = String::with_capacity(ascii.len());
    // Starting as if after a separator drops leading separators.
    let mut after_separator = true;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
            after_separator = false;
        } else if !after_separator {
            name.push(if matches!(c, '-' | '_' | '.') { c } else { '-' });
            after_separator = true;
        }
    }

    if after_separator {
        name.pop();
    }
    name
}

/// Returns the base name for an Okta id, used when no profile value yields
/// one. Okta ids are alphanumeric, so this is the id lower-cased; an id
/// with no usable character gets `okta-` plus a hash of it.
pub fn fallback_name(okta_id: &str) -> String {
    let name = normalize_name(okta_id);
    if name.is_empty() {
        format!("okta-{}", hash_tag(okta_id, 0))
    } else {
        name
    }
}

/// Assigns every record a unique, valid entity name from its base name.
///
/// `records` are `(okta_id, base_name)` pairs whose base names come from
/// [`normalize_name`] or [`fallback_name`], so they are non-empty.
/// Among records sharing a base name, the one with the smallest Okta id
/// (byte order) keeps the plain name. The others, and every record whose
/// base name is longer than [`MAX_NAME_LEN`], get the base name cut to fit
/// plus `-` and the last 6 alphanumerics of the Okta id, lower-cased. When
/// that name is already used, longer parts of the id and then hashes of it
/// are tried. The result depends only on the set of records, not on their
/// order, so names are stable from run to run while the colliding records
/// stay the same. A new record with a smaller id takes over the plain name.
pub(crate) fn assign_names(records: &[(String, String)]) -> BTreeMap<String, String> {
    let mut sorted: Vec<&(String, String)> = records.iter().collect();
    sorted.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));

    let mut assigned = BTreeMap::new();
    let mut used_names = HashSet::new();
    let mut needs_suffix = Vec::new();

    // Plain names are handed out first, so a suffixed name never takes a
    // name that another record would get plainly.
    for (okta_id, base) in sorted {
        if base.len() <= MAX_NAME_LEN && !base.is_empty() && used_names.insert(base.clone()) {
            assigned.insert(okta_id.clone(), base.clone());
        } else {
            needs_suffix.push((okta_id, base));
        }
    }

    for (okta_id, base) in needs_suffix {
        let name = suffixed_name(okta_id, base, &used_names);
        used_names.insert(name.clone());
        assigned.insert(okta_id.clone(), name);
    }
    assigned
}

/// Builds the first free name from `base` plus a suffix derived from
/// `okta_id`: its last 6 alphanumerics (all of them when fewer), then 8, 10
/// and so on up to 20, then hash tags.
fn suffixed_name(okta_id: &str, base: &str, used_names: &HashSet<String>) -> String {
    let id_chars: Vec<char> = okta_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();

    let mut lengths: Vec<usize> = (SUFFIX_LEN..=MAX_ID_SUFFIX_LEN.min(id_chars.len()))
        .step_by(2)
        .collect();
    if !id_chars.is_empty() && id_chars.len() < SUFFIX_LEN {
        lengths.push(id_chars.len());
    }
    for len in lengths {
        let suffix: String = id_chars[id_chars.len() - len..].iter().collect();
        let name = join_suffix(base, &suffix);
        if !used_names.contains(&name) {
            return name;
        }
    }

    let mut attempt = 0;
    loop {
        let name = join_suffix(base, &hash_tag(okta_id, attempt));
        if !used_names.contains(&name) {
            return name;
        }
        attempt += 1;
    }
}

/// Cuts `base` so that `base-suffix` fits in [`MAX_NAME_LEN`], and joins
/// them. The cut never leaves a separator before the `-`.
fn join_suffix(base: &str, suffix: &str) -> String {
    let room = MAX_NAME_LEN - 1 - suffix.len();
    // Base names are ASCII, so any byte index is a character boundary.
    let head = base[..base.len().min(room)].trim_end_matches(['-', '_', '.']);
    if head.is_empty() {
        return suffix.to_string();
    }
    format!("{head}-{suffix}")
}

/// Returns an 8-character hex tag from the SHA-256 of the id and an
/// attempt number.
fn hash_tag(okta_id: &str, attempt: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(okta_id.as_bytes());
    hasher.update(attempt.to_be_bytes());
    let digest = hasher.finalize();
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::is_valid_entity_name;

    fn records(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(id, base)| (id.to_string(), base.to_string()))
            .collect()
    }

    #[test]
    fn accents_are_transliterated() {
        assert_eq!(normalize_name("José Núñez"), "jose-nunez");
    }

    #[test]
    fn non_latin_is_transliterated() {
        assert_eq!(normalize_name("山田"), "shan-tian");
    }

    #[test]
    fn trailing_punctuation_is_trimmed() {
        assert_eq!(normalize_name("Ops!"), "ops");
    }

    #[test]
    fn inner_punctuation_becomes_dash() {
        assert_eq!(normalize_name("R&D."), "r-d");
    }

    #[test]
    fn separator_runs_collapse() {
        assert_eq!(normalize_name("Ops -- & __ Infra"), "ops-infra");
    }

    #[test]
    fn allowed_separators_are_kept() {
        assert_eq!(normalize_name("jane.doe_2-x"), "jane.doe_2-x");
    }

    #[test]
    fn leading_separators_are_dropped() {
        assert_eq!(normalize_name("..._team"), "team");
    }

    #[test]
    fn symbols_only_normalize_to_empty() {
        assert_eq!(normalize_name("!!! ???"), "");
    }

    #[test]
    fn fallback_uses_lowercased_id() {
        assert_eq!(fallback_name("00uAbC123"), "00uabc123");
    }

    #[test]
    fn fallback_hashes_unusable_id() {
        let name = fallback_name("???");
        assert!(name.starts_with("okta-"), "{name}");
        assert!(is_valid_entity_name(&name), "{name}");
    }

    #[test]
    fn unique_bases_stay_plain() {
        let names = assign_names(&records(&[("00u1", "jane"), ("00u2", "john")]));
        assert_eq!(names["00u1"], "jane");
        assert_eq!(names["00u2"], "john");
    }

    #[test]
    fn name_collision_gets_stable_suffix() {
        let names = assign_names(&records(&[
            ("00uZZZZZZ9abcdef", "jane"),
            ("00uAAAAAA1fedcba", "jane"),
        ]));
        assert_eq!(names["00uAAAAAA1fedcba"], "jane");
        assert_eq!(names["00uZZZZZZ9abcdef"], "jane-abcdef");
    }

    #[test]
    fn collision_winner_ignores_input_order() {
        let forward = assign_names(&records(&[("00u2", "jane"), ("00u1", "jane")]));
        let backward = assign_names(&records(&[("00u1", "jane"), ("00u2", "jane")]));
        assert_eq!(forward, backward);
    }

    #[test]
    fn long_name_is_cut_and_suffixed() {
        let base = "a".repeat(80);
        let names = assign_names(&records(&[("00g1234567890", &base)]));
        let name = &names["00g1234567890"];
        assert_eq!(name.len(), MAX_NAME_LEN);
        assert!(name.ends_with("-567890"), "{name}");
    }

    #[test]
    fn long_names_with_same_start_differ() {
        let first = format!("{}-one", "platform-".repeat(9));
        let second = format!("{}-two", "platform-".repeat(9));
        let names = assign_names(&records(&[("00gA11111", &first), ("00gB22222", &second)]));
        assert_ne!(names["00gA11111"], names["00gB22222"]);
    }

    #[test]
    fn cut_drops_separator_before_suffix() {
        let base = format!("{}.{}", "a".repeat(55), "b".repeat(20));
        let names = assign_names(&records(&[("00g123456", &base)]));
        assert_eq!(names["00g123456"], format!("{}-123456", "a".repeat(55)));
    }

    #[test]
    fn suffix_does_not_steal_plain_name() {
        // The second "jane" would become "jane-abcdef", which a third
        // record has as its plain name.
        let names = assign_names(&records(&[
            ("00u1", "jane"),
            ("00uxabcdef", "jane"),
            ("00u3", "jane-abcdef"),
        ]));
        assert_eq!(names["00u3"], "jane-abcdef");
        assert_ne!(names["00uxabcdef"], "jane-abcdef");
    }

    #[test]
    fn ids_differing_in_case_get_distinct_names() {
        let names = assign_names(&records(&[
            ("00u0", "jane"),
            ("00uABCDEF", "jane"),
            ("00uabcdef", "jane"),
        ]));
        assert_ne!(names["00uABCDEF"], names["00uabcdef"]);
    }

    #[test]
    fn assigned_names_are_unique() {
        let pairs: Vec<(String, String)> = (0..50)
            .map(|i| (format!("00u{i:03}"), "same".to_string()))
            .collect();
        let names = assign_names(&pairs);
        let distinct: HashSet<&String> = names.values().collect();
        assert_eq!(distinct.len(), pairs.len());
    }

    #[test]
    fn assigned_names_are_valid() {
        let names = assign_names(&records(&[
            ("00u1", "jane"),
            ("00u2", "jane"),
            ("x", "jane"),
            ("!", "jane"),
            ("00u5", &"b".repeat(200)),
        ]));
        for name in names.values() {
            assert!(is_valid_entity_name(name), "{name}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn any_values_get_valid_unique_names(
                values in prop::collection::vec(("\\PC{0,90}", "\\PC{0,8}"), 1..20)
            ) {
                let records: Vec<(String, String)> = values
                    .iter()
                    .enumerate()
                    .map(|(i, (raw, id))| {
                        // Without the dash, the id "1" at index 0 and the
                        // id "" at index 10 would both give "10".
                        let okta_id = format!("{id}-{i}");
                        let base = Some(normalize_name(raw))
                            .filter(|name| !name.is_empty())
                            .unwrap_or_else(|| fallback_name(&okta_id));
                        (okta_id, base)
                    })
                    .collect();
                let names = assign_names(&records);
                for name in names.values() {
                    prop_assert!(is_valid_entity_name(name), "{name:?}");
                }
                let distinct: HashSet<&String> = names.values().collect();
                prop_assert_eq!(distinct.len(), records.len());
            }
        }
    }
}
