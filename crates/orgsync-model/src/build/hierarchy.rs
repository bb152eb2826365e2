//! Group hierarchy: each group's parent, read from a profile attribute.
//!
//! The attribute holds the parent's Okta id or its `profile.name`. Names
//! match case-insensitively; when several groups match, one whose name
//! matches exactly is preferred, then the smallest Okta id. A group has at
//! most one parent, so the links form a forest once cycles are broken: in
//! each cycle the group with the smallest Okta id loses its parent link and
//! becomes a root. The choice depends only on the set of groups, never on
//! their order.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::report::Report;
use crate::okta::OktaGroup;

/// Child group id to parent group id, without cycles.
pub(super) type Parents = BTreeMap<String, String>;

/// Resolves the parent of every group from `attribute`, warning about
/// values that name no ingested group, name the group itself, or close a
/// cycle. Returns no links when `attribute` is `None`.
pub(super) fn resolve_parents(
    groups: &[&OktaGroup],
    attribute: Option<&str>,
    report: &mut Report,
) -> Parents {
    let Some(attribute) = attribute else {
        return Parents::new();
    };
    let index = GroupIndex::new(groups);

    let mut parents = Parents::new();
    for group in groups {
        let Some(value) = parent_value(group, attribute, report) else {
            continue;
        };
        match index.find(value, &group.id, report) {
            None => report.warn(
                &group.id,
                format!(
                    "parent group {value:?} (from profile.{attribute}) is not an ingested group, so the group has no parent; set the attribute to the name or id of an ingested group"
                ),
            ),
            Some(parent) if parent.id == group.id => report.warn(
                &group.id,
                format!("profile.{attribute} names the group itself as its parent, so the group has no parent; set the attribute to another group or clear it"),
            ),
            Some(parent) => {
                parents.insert(group.id.clone(), parent.id.clone());
            }
        }
    }

    break_cycles(&mut parents, report);
    parents
}

/// The trimmed parent value of a group, or `None` when it has none.
fn parent_value<'a>(group: &'a OktaGroup, attribute: &str, report: &mut Report) -> Option<&'a str> {
    match group.profile.get(attribute)? {
        Value::String(text) => Some(text.trim()).filter(|text| !text.is_empty()),
        Value::Null => None,
        _ => {
            report.warn(
                &group.id,
                format!("profile.{attribute} is not a string, so the group has no parent; set the attribute to the name or id of the parent group"),
            );
            None
        }
    }
}

/// Ingested groups by id and by lower-cased name.
struct GroupIndex<'a> {
    by_id: HashMap<&'a str, &'a OktaGroup>,
    /// Groups sorted by id, under their lower-cased, trimmed name.
    by_name: HashMap<String, Vec<&'a OktaGroup>>,
}

impl<'a> GroupIndex<'a> {
    fn new(groups: &[&'a OktaGroup]) -> Self {
        let mut by_id = HashMap::new();
        let mut by_name: HashMap<String, Vec<&OktaGroup>> = HashMap::new();
        for &group in groups {
            by_id.insert(group.id.as_str(), group);
            if let Some(name) = group_name(group) {
                by_name.entry(name.to_lowercase()).or_default().push(group);
            }
        }
        for candidates in by_name.values_mut() {
            candidates.sort_by(|a, b| a.id.cmp(&b.id));
        }
        GroupIndex { by_id, by_name }
    }

    /// Finds the group `value` names, by id first, then by name; warns
    /// `child_id` when the name is ambiguous.
    fn find(&self, value: &str, child_id: &str, report: &mut Report) -> Option<&'a OktaGroup> {
        if let Some(group) = self.by_id.get(value) {
            return Some(group);
        }
        let candidates = self.by_name.get(&value.to_lowercase())?;
        let exact: Vec<&OktaGroup> = candidates
            .iter()
            .copied()
            .filter(|group| group_name(group) == Some(value))
            .collect();
        let preferred = if exact.is_empty() {
            candidates.clone()
        } else {
            exact
        };

        if preferred.len() > 1 {
            let ids: Vec<&str> = preferred.iter().map(|group| group.id.as_str()).collect();
            report.warn(
                child_id,
                format!(
                    "parent name {value:?} matches several groups ({}); the one with the smallest Okta id was chosen",
                    ids.join(", ")
                ),
            );
        }
        preferred.first().copied()
    }
}

fn group_name(group: &OktaGroup) -> Option<&str> {
    group.profile_str("name").map(str::trim)
}

/// Removes one link from every cycle: the parent link of the cycle's group
/// with the smallest Okta id.
fn break_cycles(parents: &mut Parents, report: &mut Report) {
    let mut finished: HashSet<String> = HashSet::new();
    let starts: Vec<String> = parents.keys().cloned().collect();

    for start in starts {
        let mut path: Vec<String> = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        let mut current = Some(start);

        while let Some(id) = current {
            if finished.contains(&id) {
                break;
            }
            if let Some(&cycle_start) = position.get(&id) {
                drop_cycle_link(&path[cycle_start..], parents, report);
                break;
            }
            position.insert(id.clone(), path.len());
            path.push(id.clone());
            current = parents.get(&id).cloned();
        }
        finished.extend(path);
    }
}

fn drop_cycle_link(cycle: &[String], parents: &mut Parents, report: &mut Report) {
    let Some(start) = cycle
        .iter()
        .enumerate()
        .min_by_key(|(_, id)| *id)
        .map(|(i, _)| i)
    else {
        return;
    };
    let breaker = &cycle[start];
    let Some(parent) = parents.remove(breaker) else {
        return;
    };

    // The loop is written from the group that loses its link, following
    // parent links back to it.
    let mut loop_ids: Vec<&str> = cycle[start..]
        .iter()
        .chain(&cycle[..start])
        .map(String::as_str)
        .collect();
    loop_ids.push(breaker);
    report.warn(
        breaker,
        format!(
            "the parent link to group {parent} closes the cycle {} (each group followed by its parent); it was dropped, so this group has no parent",
            loop_ids.join(" -> ")
        ),
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn group(id: &str, name: &str, parent: Option<&str>) -> OktaGroup {
        let mut profile = json!({ "name": name });
        if let Some(parent) = parent {
            profile["parent"] = json!(parent);
        }
        serde_json::from_value(json!({ "id": id, "type": "OKTA_GROUP", "profile": profile }))
            .unwrap()
    }

    fn resolve(groups: &[OktaGroup]) -> (Parents, Report) {
        let refs: Vec<&OktaGroup> = groups.iter().collect();
        let mut report = Report::default();
        let parents = resolve_parents(&refs, Some("parent"), &mut report);
        (parents, report)
    }

    #[test]
    fn parent_by_name_ignores_case() {
        let (parents, _) = resolve(&[
            group("g1", "Engineering", None),
            group("g2", "Platform", Some("engineering")),
        ]);
        assert_eq!(parents.get("g2").map(String::as_str), Some("g1"));
    }

    #[test]
    fn parent_by_id() {
        let (parents, _) = resolve(&[
            group("g1", "Engineering", None),
            group("g2", "Platform", Some("g1")),
        ]);
        assert_eq!(parents.get("g2").map(String::as_str), Some("g1"));
    }

    #[test]
    fn exact_case_wins_among_twins() {
        let (parents, _) = resolve(&[
            group("g1", "platform", None),
            group("g2", "Platform", None),
            group("g3", "SRE", Some("Platform")),
        ]);
        assert_eq!(parents.get("g3").map(String::as_str), Some("g2"));
    }

    #[test]
    fn ambiguous_name_warns() {
        let (parents, report) = resolve(&[
            group("g1", "Platform", None),
            group("g2", "Platform", None),
            group("g3", "SRE", Some("Platform")),
        ]);
        assert_eq!(parents.get("g3").map(String::as_str), Some("g1"));
        assert_eq!(report.warnings.len(), 1);
    }

    #[test]
    fn unknown_parent_warns() {
        let (parents, report) = resolve(&[group("g1", "Platform", Some("Nowhere"))]);
        assert!(parents.is_empty());
        assert_eq!(report.warnings[0].okta_id, "g1");
    }

    #[test]
    fn self_parent_is_dropped() {
        let (parents, report) = resolve(&[group("g1", "Platform", Some("platform"))]);
        assert!(parents.is_empty());
        assert_eq!(report.warnings.len(), 1);
    }

    #[test]
    fn non_string_parent_warns() {
        let mut odd = group("g2", "SRE", None);
        odd.profile.insert("parent".into(), json!(["g1"]));
        let (parents, report) = resolve(&[group("g1", "Platform", None), odd]);
        assert!(parents.is_empty());
        assert_eq!(report.warnings.len(), 1);
    }

    #[test]
    fn blank_parent_is_no_parent() {
        let (parents, report) = resolve(&[group("g1", "Platform", Some("  "))]);
        assert!(parents.is_empty());
        assert!(report.warnings.is_empty());
    }

    #[test]
    fn cycle_loses_smallest_id_link() {
        let (parents, report) = resolve(&[
            group("g3", "C", Some("A")),
            group("g1", "A", Some("B")),
            group("g2", "B", Some("C")),
        ]);
        assert!(!parents.contains_key("g1"));
        assert_eq!(parents.len(), 2);
        assert_eq!(report.warnings[0].okta_id, "g1");
    }

    #[test]
    fn cycle_warning_starts_at_breaker() {
        let (_, report) = resolve(&[
            group("g3", "C", Some("A")),
            group("g2", "B", Some("C")),
            group("g1", "A", Some("B")),
        ]);
        assert!(
            report.warnings[0].message.contains("g1 -> g2 -> g3 -> g1"),
            "{}",
            report.warnings[0].message
        );
    }

    #[test]
    fn tail_into_cycle_keeps_its_link() {
        let (parents, report) = resolve(&[
            group("g1", "A", Some("B")),
            group("g2", "B", Some("A")),
            group("g0", "Tail", Some("A")),
        ]);
        assert_eq!(parents.get("g0").map(String::as_str), Some("g1"));
        assert_eq!(parents.get("g2").map(String::as_str), Some("g1"));
        assert_eq!(report.warnings.len(), 1);
    }

    #[test]
    fn separate_cycles_each_break() {
        let (parents, report) = resolve(&[
            group("g1", "A", Some("B")),
            group("g2", "B", Some("A")),
            group("g3", "C", Some("D")),
            group("g4", "D", Some("C")),
        ]);
        assert_eq!(parents.len(), 2);
        assert_eq!(report.warnings.len(), 2);
    }

    #[test]
    fn no_attribute_no_parents() {
        let groups = [group("g1", "A", Some("B")), group("g2", "B", None)];
        let refs: Vec<&OktaGroup> = groups.iter().collect();
        let parents = resolve_parents(&refs, None, &mut Report::default());
        assert!(parents.is_empty());
    }
}
