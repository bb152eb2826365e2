//! Building orgs: the deterministic generator, fixtures and recorded exchanges.
//!
//! [`generate_org`] creates an org of a chosen size whose shape resembles a
//! real company. It has a manager tree inside departments and group trees
//! linked by the custom `parentGroup` profile attribute. Group sizes are
//! skewed like a Zipf distribution and user statuses are mixed. Names include
//! the cases that trip up naming code: non-ASCII, case twins, trailing
//! punctuation, 80-character names and email local parts shared across
//! domains. The same options always give the same org, ids included.
//!
//! [`load_fixture`] reads a JSON fixture (format in the crate docs), and
//! [`from_recorded`] rebuilds an org from recorded Okta exchanges.

mod fixture;
mod names;
mod people;
mod recorded;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::seq::index;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::org::{format_timestamp, Id, Org};

pub use fixture::{load_fixture, org_from_fixture, LoadError};
pub use recorded::{
    cassette_paths, from_recorded, from_recorded_files, read_cassette, RecordedExchange,
};

use names::{GROUP_QUALIFIERS, GROUP_WORDS, SPECIAL_GROUP_NAMES};
use people::Person;

/// The deepest a generated group tree goes (roots are at depth 0).
const MAX_GROUP_DEPTH: usize = 5;

/// The Zipf exponent of group sizes: the group of rank `r` gets about
/// `c / r^0.9` members.
const ZIPF_EXPONENT: f64 = 0.9;

/// The id of the Active Directory app that generated `APP_GROUP`s come from.
const AD_APP_ID: &str = "0oa1adexample0000001";

/// Settings of a generated org.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// The number of users.
    pub users: usize,
    /// The number of groups besides Everyone.
    pub groups: usize,
    /// The number of memberships besides Everyone's; `None` means ten per
    /// user. The generator gets close to it but not exactly: department
    /// groups contain whole departments and no group can exceed the users.
    pub memberships: Option<usize>,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// The org's current time: every generated timestamp is before it.
    pub now: DateTime<Utc>,
}

impl GenerateOptions {
    /// Options for `users` users and `groups` groups from `seed`, with ten
    /// memberships per user and the clock at 2025-01-01T00:00:00Z.
    pub fn new(users: usize, groups: usize, seed: u64) -> Self {
        Self {
            users,
            groups,
            memberships: None,
            seed,
            now: default_now(),
        }
    }
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self::new(200, 40, 1)
    }
}

/// Returns the fixed clock of generated orgs, so that a seed alone decides the org.
fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Generates an org. The same options always give the same org.
pub fn generate_org(options: &GenerateOptions) -> Org {
    let started = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let clock = Clock::new(options.now);
    let mut org = Org::new(options.seed, clock.birth);

    let people = people::generate_people(&mut rng, &mut org, &clock, options.users);
    let groups = plan_groups(&mut rng, options.groups, people::department_count(&people));
    let group_ids = insert_groups(&mut rng, &mut org, &clock, &groups);
    let target = options.memberships.unwrap_or(options.users * 10);
    let members = plan_memberships(&mut rng, &people, &groups, target);
    let memberships: Vec<(Id, Vec<Id>)> = group_ids
        .into_iter()
        .zip(members)
        .map(|(group_id, indexes)| {
            let user_ids = indexes
                .into_iter()
                .map(|index| people[index as usize].id.clone())
                .collect();
            (group_id, user_ids)
        })
        .collect();
    // Every id was just inserted and no planned group is Everyone.
    if let Err(error) = org.add_members_bulk(memberships) {
        tracing::error!(%error, "adding generated members failed");
    }

    tracing::info!(
        users = org.user_count(),
        groups = org.group_count(),
        memberships = org.membership_count(),
        seed = options.seed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated org"
    );
    org
}

/// Random timestamps between the org's birth and its current time.
struct Clock {
    birth: DateTime<Utc>,
    now: DateTime<Utc>,
}

impl Clock {
    fn new(now: DateTime<Utc>) -> Self {
        Self {
            birth: now - Duration::days(9 * 365),
            now,
        }
    }

    /// Returns a time uniformly between `from` and the current time.
    fn after(&self, rng: &mut ChaCha8Rng, from: DateTime<Utc>) -> DateTime<Utc> {
        let span = (self.now - from).num_seconds().max(1);
        from + Duration::seconds(rng.gen_range(0..span))
    }

    /// Returns a time at most `days` days after `from`, and not after now.
    fn within_days(&self, rng: &mut ChaCha8Rng, from: DateTime<Utc>, days: i64) -> DateTime<Utc> {
        let time = from + Duration::seconds(rng.gen_range(0..days.max(1) * 86_400));
        time.min(self.now)
    }

    fn stamp(time: DateTime<Utc>) -> Value {
        json!(format_timestamp(time))
    }
}

/// The kind of a planned group.
#[derive(Debug, Clone, Copy, PartialEq)]
enum GroupKind {
    /// Contains every user of the department with this index.
    Department(usize),
    /// An `OKTA_GROUP` with sampled members.
    Team,
    /// An `APP_GROUP` imported from Active Directory.
    App,
}

#[derive(Debug, Clone)]
struct PlannedGroup {
    name: String,
    kind: GroupKind,
    parent: Option<usize>,
    depth: usize,
}

/// Plans names, kinds and the tree of `count` groups: departments first,
/// then the special names, then generated teams and a few app groups.
fn plan_groups(rng: &mut ChaCha8Rng, count: usize, departments: usize) -> Vec<PlannedGroup> {
    let mut planned: Vec<PlannedGroup> = Vec::with_capacity(count);
    let mut taken = std::collections::HashSet::new();
    for department in 0..departments.min(count) {
        let name = names::DEPARTMENTS[department].to_owned();
        taken.insert(name.clone());
        planned.push(PlannedGroup {
            name,
            kind: GroupKind::Department(department),
            parent: None,
            depth: 0,
        });
    }

    // Small orgs skip the special names so that they stay mostly teams.
    let specials = if count >= departments + 3 * SPECIAL_GROUP_NAMES.len() {
        SPECIAL_GROUP_NAMES
    } else {
        &[]
    };
    let app_groups = (count / 50).max(usize::from(count >= 20));
    while planned.len() < count {
        let position = planned.len();
        let kind = if position + app_groups >= count {
            GroupKind::App
        } else {
            GroupKind::Team
        };
        let special = specials.get(position - departments.min(count));
        let name = match (kind, special) {
            (GroupKind::Team, Some(name)) => (*name).to_owned(),
            _ => unique_group_name(rng, kind, &taken),
        };
        taken.insert(name.clone());
        let parent = match kind {
            GroupKind::App => None,
            _ => choose_parent(rng, &planned),
        };
        let depth = parent.map_or(0, |parent| planned[parent].depth + 1);
        planned.push(PlannedGroup {
            name,
            kind,
            parent,
            depth,
        });
    }
    planned
}

fn unique_group_name(
    rng: &mut ChaCha8Rng,
    kind: GroupKind,
    taken: &std::collections::HashSet<String>,
) -> String {
    let word = GROUP_WORDS[rng.gen_range(0..GROUP_WORDS.len())];
    let qualifier = GROUP_QUALIFIERS[rng.gen_range(0..GROUP_QUALIFIERS.len())];
    let base = match kind {
        GroupKind::App => format!("ad-{word}-{qualifier}")
            .to_lowercase()
            .replace(' ', "-"),
        _ => format!("{word} {qualifier}"),
    };
    let mut name = base.clone();
    let mut suffix = 2;
    while taken.contains(&name) {
        name = format!("{base} {suffix}");
        suffix += 1;
    }
    name
}

/// Picks the parent of a new team. Most teams hang below an earlier non-app
/// group that is not too deep, and about one in seven is a root.
fn choose_parent(rng: &mut ChaCha8Rng, planned: &[PlannedGroup]) -> Option<usize> {
    if planned.is_empty() || rng.gen_ratio(1, 7) {
        return None;
    }
    for _ in 0..8 {
        let candidate = rng.gen_range(0..planned.len());
        let group = &planned[candidate];
        if group.kind != GroupKind::App && group.depth < MAX_GROUP_DEPTH {
            return Some(candidate);
        }
    }
    None
}

/// Creates the planned groups in the org; returns their ids in plan order.
fn insert_groups(
    rng: &mut ChaCha8Rng,
    org: &mut Org,
    clock: &Clock,
    groups: &[PlannedGroup],
) -> Vec<Id> {
    let mut ids: Vec<Id> = Vec::with_capacity(groups.len());
    for group in groups {
        let id = org.new_id("00g");
        let object = group_object(rng, clock, group, groups, &id);
        match org.insert_group(object) {
            Ok(id) => ids.push(id),
            Err(error) => {
                // Generated objects are complete, so this only logs a bug.
                tracing::error!(%error, name = %group.name, "inserting generated group failed");
                ids.push(Id::from(id));
            }
        }
    }
    ids
}

fn group_object(
    rng: &mut ChaCha8Rng,
    clock: &Clock,
    group: &PlannedGroup,
    groups: &[PlannedGroup],
    id: &str,
) -> Value {
    let created = clock.after(rng, clock.birth);
    let updated = clock.after(rng, created);
    let membership_updated = clock.after(rng, created);
    let mut profile = json!({ "name": group.name, "description": group_description(rng, group) });
    if let Some(parent) = group.parent {
        profile["parentGroup"] = json!(groups[parent].name);
    }
    let (group_type, object_class) = match group.kind {
        GroupKind::App => {
            add_active_directory_attributes(&mut profile, &group.name, id);
            ("APP_GROUP", "okta:windows_security_principal")
        }
        _ => ("OKTA_GROUP", "okta:user_group"),
    };
    let mut object = json!({
        "id": id,
        "created": Clock::stamp(created),
        "lastUpdated": Clock::stamp(updated),
        "lastMembershipUpdated": Clock::stamp(membership_updated),
        "objectClass": [object_class],
        "type": group_type,
        "profile": profile,
    });
    if group.kind == GroupKind::App {
        object["source"] = json!({ "id": AD_APP_ID });
    }
    object
}

fn group_description(rng: &mut ChaCha8Rng, group: &PlannedGroup) -> Value {
    match group.kind {
        GroupKind::Department(_) => json!(format!("Everyone in {}", group.name)),
        _ if rng.gen_ratio(1, 3) => Value::Null,
        _ => json!(format!("Members of {}", group.name)),
    }
}

fn add_active_directory_attributes(profile: &mut Value, name: &str, id: &str) {
    profile["groupType"] = json!("Security");
    profile["samAccountName"] = json!(name);
    profile["groupScope"] = json!("Global");
    profile["dn"] = json!(format!("CN={name},OU=Groups,DC=corp,DC=example"));
    profile["windowsDomainQualifiedName"] = json!(format!("CORP\\{name}"));
    profile["objectSid"] = json!(format!(
        "S-1-5-21-1004336348-1177238915-682003330-{}",
        &id[3..9]
    ));
    profile["externalId"] = json!(format!("{id}=="));
}

/// Plans the members of every group as indexes into `people`.
///
/// Department groups get their whole department. The other groups get
/// Zipf-distributed sizes, larger ones to shallower groups, and draw their
/// members from their parent's members when the parent has enough of them,
/// so that group trees nest like real teams.
fn plan_memberships(
    rng: &mut ChaCha8Rng,
    people: &[Person],
    groups: &[PlannedGroup],
    target: usize,
) -> Vec<Vec<u32>> {
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
    for (slot, group) in members.iter_mut().zip(groups) {
        if let GroupKind::Department(department) = group.kind {
            *slot = people::members_of_department(people, department);
        }
    }
    let planned_so_far: usize = members.iter().map(Vec::len).sum();
    let sizes = zipf_sizes(
        rng,
        groups,
        target.saturating_sub(planned_so_far),
        people.len(),
    );

    for (position, group) in groups.iter().enumerate() {
        let Some(size) = sizes[position] else {
            continue;
        };
        let pool = group
            .parent
            .map(|parent| &members[parent])
            .filter(|pool| pool.len() >= size * 2);
        let chosen: Vec<u32> = match pool {
            Some(pool) => index::sample(rng, pool.len(), size)
                .into_iter()
                .map(|index| pool[index])
                .collect(),
            None => index::sample(rng, people.len(), size)
                .into_iter()
                .map(|index| index as u32)
                .collect(),
        };
        members[position] = chosen;
    }
    members
}

/// Sizes for every non-department group (`None` for departments), adding
/// up to about `total`, each between 1 and `user_count`.
fn zipf_sizes(
    rng: &mut ChaCha8Rng,
    groups: &[PlannedGroup],
    total: usize,
    user_count: usize,
) -> Vec<Option<usize>> {
    let mut ranked: Vec<usize> = (0..groups.len())
        .filter(|&position| !matches!(groups[position].kind, GroupKind::Department(_)))
        .collect();
    ranked.shuffle(rng);
    ranked.sort_by_key(|&position| groups[position].depth);

    let weights: Vec<f64> = (1..=ranked.len())
        .map(|rank| (rank as f64).powf(-ZIPF_EXPONENT))
        .collect();
    let weight_sum: f64 = weights.iter().sum();
    let mut sizes = vec![None; groups.len()];
    if user_count == 0 {
        return sizes;
    }
    for (position, weight) in ranked.into_iter().zip(weights) {
        let size = (total as f64 * weight / weight_sum).round() as usize;
        sizes[position] = Some(size.clamp(1, user_count));
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    fn small() -> Org {
        generate_org(&GenerateOptions::new(2_000, 120, 42))
    }

    fn user_summary(org: &Org) -> Vec<String> {
        org.users_after(None)
            .map(|user| user.object().to_string())
            .collect()
    }

    #[test]
    fn same_seed_same_org() {
        let first = generate_org(&GenerateOptions::new(300, 40, 9));
        let second = generate_org(&GenerateOptions::new(300, 40, 9));
        assert_eq!(user_summary(&first), user_summary(&second));
        let groups = |org: &Org| -> Vec<String> {
            org.groups_after(None)
                .map(|g| g.object().to_string())
                .collect()
        };
        assert_eq!(groups(&first), groups(&second));
    }

    #[test]
    fn other_seed_other_org() {
        let first = generate_org(&GenerateOptions::new(50, 10, 1));
        let second = generate_org(&GenerateOptions::new(50, 10, 2));
        assert_ne!(user_summary(&first), user_summary(&second));
    }

    #[test]
    fn counts_match_options() {
        let org = small();
        assert_eq!(org.user_count(), 2_000);
        assert_eq!(org.group_count(), 121);
    }

    #[test]
    fn membership_total_near_target() {
        let org = small();
        let count = org.membership_count() as f64;
        assert!(
            (14_000.0..=22_000.0).contains(&count),
            "memberships: {count}"
        );
    }

    #[test]
    fn group_sizes_skewed() {
        let org = small();
        let mut sizes: Vec<usize> = org
            .groups_after(None)
            .filter(|group| group.group_type() != "BUILT_IN")
            .filter_map(|group| org.member_count(group.id()))
            .collect();
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        let largest = sizes[sizes.len() - 1];
        assert!(largest >= median * 10, "largest {largest}, median {median}");
    }

    #[test]
    fn case_twins_present() {
        let org = small();
        let names: HashSet<&str> = org.groups_after(None).map(|group| group.name()).collect();
        assert!(names.contains("Platform"));
        assert!(names.contains("platform"));
    }

    #[test]
    fn long_and_punctuated_names_present() {
        let org = small();
        let names: Vec<&str> = org.groups_after(None).map(|group| group.name()).collect();
        assert!(names.iter().any(|name| name.chars().count() == 80));
        assert!(names.iter().any(|name| name.ends_with('!')));
        assert!(names.iter().any(|name| name.ends_with('.')));
    }

    #[test]
    fn non_ascii_names_present() {
        let org = small();
        let non_ascii_users = org
            .users_after(None)
            .filter(|user| !user.profile_str("firstName").unwrap_or_default().is_ascii())
            .count();
        let non_ascii_groups = org
            .groups_after(None)
            .filter(|g| !g.name().is_ascii())
            .count();
        assert!(non_ascii_users > 0);
        assert!(non_ascii_groups > 0);
    }

    #[test]
    fn local_parts_collide_across_domains() {
        let org = small();
        let mut domains_by_local: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for user in org.users_after(None) {
            let email = user.profile_str("email").unwrap_or_default().to_lowercase();
            if let Some((local, domain)) = email.split_once('@') {
                domains_by_local
                    .entry(local.to_owned())
                    .or_default()
                    .insert(domain.to_owned());
            }
        }
        assert!(domains_by_local.values().any(|domains| domains.len() > 1));
    }

    #[test]
    fn logins_unique() {
        let org = small();
        let logins: HashSet<String> = org
            .users_after(None)
            .map(|user| user.profile_str("login").unwrap_or_default().to_lowercase())
            .collect();
        assert_eq!(logins.len(), org.user_count());
    }

    #[test]
    fn statuses_mixed() {
        let org = small();
        let statuses: HashSet<&str> = org.users_after(None).map(|user| user.status()).collect();
        for status in [
            "ACTIVE",
            "STAGED",
            "PROVISIONED",
            "SUSPENDED",
            "LOCKED_OUT",
            "DEPROVISIONED",
        ] {
            assert!(statuses.contains(status), "no {status} user");
        }
    }

    #[test]
    fn managers_exist() {
        let org = small();
        for user in org.users_after(None) {
            if let Some(manager) = user.profile_str("managerId") {
                assert!(org.user(manager).is_some(), "manager {manager} missing");
            }
        }
        let managed = org
            .users_after(None)
            .filter(|user| user.profile_str("managerId").is_some())
            .count();
        assert_eq!(managed, org.user_count() - 1);
    }

    #[test]
    fn group_trees_have_depth() {
        let org = small();
        let parents: BTreeMap<&str, &str> = org
            .groups_after(None)
            .filter_map(|group| {
                let parent = group.object()["profile"]["parentGroup"].as_str()?;
                Some((group.name(), parent))
            })
            .collect();
        fn depth<'a>(parents: &BTreeMap<&'a str, &'a str>, mut name: &'a str) -> usize {
            let mut depth = 0;
            while let Some(parent) = parents.get(name) {
                name = parent;
                depth += 1;
            }
            depth
        }
        let deepest = parents
            .keys()
            .map(|name| depth(&parents, name))
            .max()
            .unwrap_or(0);
        assert!(deepest >= 3, "deepest tree: {deepest}");
    }

    #[test]
    fn app_groups_present() {
        let org = small();
        let app_groups = org
            .groups_after(None)
            .filter(|group| group.group_type() == "APP_GROUP")
            .count();
        assert!(app_groups > 0);
    }

    #[test]
    fn tiny_org_generates() {
        let org = generate_org(&GenerateOptions::new(1, 1, 3));
        assert_eq!(org.user_count(), 1);
        assert_eq!(org.group_count(), 2);
    }

    #[test]
    fn empty_org_generates() {
        let org = generate_org(&GenerateOptions::new(0, 0, 3));
        assert_eq!(org.user_count(), 0);
        assert_eq!(org.group_count(), 1);
    }
}
