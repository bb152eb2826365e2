//! Selecting groups by exact name.
//!
//! Okta's `search` compares string values case-insensitively, so a search for
//! `profile.name eq "platform"` also returns a group named `Platform`. orgsync
//! resolves each configured name as follows:
//! - a group whose name is exactly the configured name is selected;
//! - otherwise, if exactly one group matches when case is ignored, it is
//!   selected and a warning says the names differ in case;
//! - otherwise, if several groups match when case is ignored, none is
//!   selected and a warning lists them (write the name exactly as in Okta);
//! - otherwise the name is reported as matching no group.

use std::collections::{BTreeMap, BTreeSet};

use orgsync_model::OktaGroup;

/// The most names in one `search` expression. Okta limits URL length, and
/// 40 names of up to 100 characters keep a request under about 8 KiB.
const MAX_NAMES_PER_SEARCH: usize = 40;

/// The most characters of expression text in one batch.
const MAX_SEARCH_CHARS: usize = 4000;

/// Splits configured group names into `profile.name eq` search expressions
/// small enough for one request each.
pub fn name_batches(names: &[String]) -> Vec<String> {
    let unique: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let mut batches = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut current_chars = 0;

    for name in unique {
        let term_chars = name.len() + 24;
        let full = current.len() >= MAX_NAMES_PER_SEARCH
            || (current_chars + term_chars > MAX_SEARCH_CHARS && !current.is_empty());
        if full {
            batches.push(okta_search::any_equal("profile.name", &current));
            current.clear();
            current_chars = 0;
        }
        current.push(name);
        current_chars += term_chars;
    }
    if !current.is_empty() {
        batches.push(okta_search::any_equal("profile.name", &current));
    }
    batches
}

/// The outcome of resolving configured names against the groups Okta returned.
#[derive(Debug, Default)]
pub struct NameMatch {
    /// The selected groups, each once, in the order Okta returned them.
    pub selected: Vec<OktaGroup>,
    /// Configured names that match no group.
    pub unmatched: Vec<String>,
    /// Human-readable notes about case-only matches and ambiguous names.
    pub warnings: Vec<String>,
}

/// Resolves `configured` names against `found` groups by the rules in the
/// module documentation.
pub fn match_group_names(configured: &[String], found: Vec<OktaGroup>) -> NameMatch {
    let mut by_folded: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, group) in found.iter().enumerate() {
        let name = group.profile_str("name").unwrap_or_default();
        by_folded
            .entry(name.to_lowercase())
            .or_default()
            .push(index);
    }

    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    let mut result = NameMatch::default();
    let unique: BTreeSet<&String> = configured.iter().collect();

    for name in unique {
        let candidates = by_folded
            .get(&name.to_lowercase())
            .cloned()
            .unwrap_or_default();
        let exact: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&index| found[index].profile_str("name") == Some(name.as_str()))
            .collect();

        match (exact.as_slice(), candidates.as_slice()) {
            ([], []) => result.unmatched.push(name.clone()),
            ([], [only]) => {
                let actual = found[*only].profile_str("name").unwrap_or_default();
                result.warnings.push(format!(
                    "group name {name:?} matched the Okta group {actual:?} only when case is \
                     ignored; it is ingested, but write the name as Okta has it"
                ));
                chosen.insert(*only);
            }
            ([], several) => {
                let names: Vec<&str> = several
                    .iter()
                    .map(|&index| found[index].profile_str("name").unwrap_or_default())
                    .collect();
                result.warnings.push(format!(
                    "group name {name:?} matches several Okta groups when case is ignored \
                     ({names:?}) and none exactly; none is ingested, so write the name \
                     exactly as Okta has it"
                ));
            }
            (exact, _) => chosen.extend(exact.iter().copied()),
        }
    }

    result.selected = found
        .into_iter()
        .enumerate()
        .filter(|(index, _)| chosen.contains(index))
        .map(|(_, group)| group)
        .collect();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(id: &str, name: &str) -> OktaGroup {
        serde_json::from_value(json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": name}}))
            .expect("test group")
    }

    fn names(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    #[test]
    fn exact_name_wins_over_case_twin() {
        let found = vec![group("1", "Platform"), group("2", "platform")];
        let result = match_group_names(&names(&["platform"]), found);
        assert_eq!(result.selected.len(), 1);
        assert_eq!(result.selected[0].id, "2");
        assert!(result.warnings.is_empty());
    }

    #[test]
    fn case_only_match_is_selected_with_warning() {
        let found = vec![group("1", "Platform-Team")];
        let result = match_group_names(&names(&["platform-team"]), found);
        assert_eq!(result.selected.len(), 1);
        assert_eq!(result.warnings.len(), 1);
        assert!(result.warnings[0].contains("only when case is ignored"));
    }

    #[test]
    fn ambiguous_case_match_selects_none() {
        let found = vec![group("1", "Data"), group("2", "DATA")];
        let result = match_group_names(&names(&["data"]), found);
        assert!(result.selected.is_empty());
        assert!(result.warnings[0].contains("several Okta groups"));
    }

    #[test]
    fn missing_name_is_reported() {
        let result = match_group_names(&names(&["ghost", "ops"]), vec![group("1", "ops")]);
        assert_eq!(result.unmatched, vec!["ghost".to_string()]);
        assert_eq!(result.selected.len(), 1);
    }

    #[test]
    fn batches_cover_every_name_once() {
        let configured: Vec<String> = (0..95).map(|index| format!("team \"{index}\"")).collect();
        let batches = name_batches(&configured);
        assert_eq!(batches.len(), 3);
        for name in &configured {
            let quoted = okta_search::quote(name);
            let hits = batches
                .iter()
                .filter(|batch| batch.contains(&quoted))
                .count();
            assert_eq!(hits, 1, "{name} should be in exactly one batch");
        }
    }

    #[test]
    fn batches_parse_as_search_expressions() {
        let configured = names(&["a\\b", "quote\"d", "ünïcode"]);
        for batch in name_batches(&configured) {
            assert!(okta_search::parse(&batch).is_ok(), "{batch}");
        }
    }
}
