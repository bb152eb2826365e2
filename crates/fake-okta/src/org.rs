//! The org: users, groups and group memberships, held in memory.
//!
//! Terms:
//! - A *user* and a *group* are stored as the JSON object Okta returns for
//!   them, minus `_links` and `_embedded`, which depend on the server's base
//!   URL and the request and are added when a response is rendered.
//! - A *membership* links a group to a user. Every group keeps its members
//!   ordered by user id and every user keeps the ids of its groups, so paging
//!   through a group and listing a user's groups are both range scans.
//! - *Everyone* is the org's `BUILT_IN` group. It contains every user without
//!   storing a membership for each, so adding or removing a user changes it
//!   too, and its memberships cannot be changed one by one.
//!
//! Each user also keeps its JSON text, serialized when it is stored, which
//! list responses copy instead of serializing the object again.
//!
//! Users are ordered by id and groups by name (case-insensitively, then by
//! id), the orders Okta's list endpoints return them in. An [`OrgHandle`]
//! shares one org between the API handlers and the control API.

mod defaults;
mod serialized;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

pub(crate) use defaults::is_everyone;
pub use defaults::{complete_group, complete_user, format_timestamp, GROUP_TYPES, USER_STATUSES};
pub(crate) use serialized::{Omittable, SerializedObject};

/// An Okta object id, shared between the indexes that refer to it.
pub type Id = Arc<str>;

/// Okta's id alphabet: ids are a 3-character prefix and 17 of these.
const ID_ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The length of every Okta object id.
pub const ID_LENGTH: usize = 20;

/// A failed change to the org, with the value at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OrgError {
    /// The object has no usable id, login or name.
    #[error("invalid {kind}: {reason}")]
    Invalid {
        /// `user` or `group`.
        kind: &'static str,
        /// The problem and how to fix it.
        reason: String,
    },
    /// Another user already has this login (Okta logins are unique,
    /// case-insensitively).
    #[error("login {login:?} already belongs to user {existing}; choose another login")]
    LoginTaken {
        /// The login in the request.
        login: String,
        /// The user that has it.
        existing: String,
    },
    /// No user has this id or login.
    #[error("user {0:?} not found; list users to see the ids in the org")]
    UserNotFound(String),
    /// No group has this id.
    #[error("group {0:?} not found; list groups to see the ids in the org")]
    GroupNotFound(String),
    /// The change would edit Everyone's memberships, which follow the users.
    #[error("group {0} is Everyone, which contains every user; add or remove the user instead")]
    EveryoneIsImplicit(String),
}

/// One user: the JSON object Okta returns, without `_links`.
#[derive(Debug, Clone)]
pub struct User {
    id: Id,
    login_key: String,
    object: Value,
    serialized: SerializedObject,
}

impl User {
    /// Returns the user's id (`00u…`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Returns the user's JSON object.
    pub fn object(&self) -> &Value {
        &self.object
    }

    /// Returns the user's JSON text, which is the text of [`User::object`].
    pub(crate) fn serialized(&self) -> &SerializedObject {
        &self.serialized
    }

    /// Returns the user's `status`, such as `ACTIVE` or `DEPROVISIONED`.
    pub fn status(&self) -> &str {
        self.object["status"].as_str().unwrap_or_default()
    }

    /// Returns a string attribute of the user's profile, if set.
    pub fn profile_str(&self, name: &str) -> Option<&str> {
        self.object["profile"][name].as_str()
    }
}

/// One group: the JSON object Okta returns, without `_links` and `_embedded`.
#[derive(Debug, Clone)]
pub struct Group {
    id: Id,
    order_key: GroupKey,
    object: Value,
    source_app_id: Option<String>,
}

impl Group {
    /// Returns the group's id (`00g…`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Returns the group's JSON object.
    pub fn object(&self) -> &Value {
        &self.object
    }

    /// Returns the group's `profile.name`.
    pub fn name(&self) -> &str {
        self.object["profile"]["name"].as_str().unwrap_or_default()
    }

    /// Returns the group's `type`: `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`.
    pub fn group_type(&self) -> &str {
        self.object["type"].as_str().unwrap_or_default()
    }

    /// Returns the key that orders this group in group lists.
    pub fn order_key(&self) -> &GroupKey {
        &self.order_key
    }

    /// Returns the id of the app an `APP_GROUP` was imported from, which Okta shows
    /// as the `source` link and lets searches read as `source.id`.
    pub fn source_app_id(&self) -> Option<&str> {
        self.source_app_id.as_deref()
    }
}

/// The position of a group in group lists: its name case-folded, then its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// `profile.name` in lower case.
    pub folded_name: String,
    /// The group id, which breaks ties between equal names.
    pub id: Id,
}

impl GroupKey {
    fn of(object: &Value, id: &Id) -> Self {
        let name = object["profile"]["name"].as_str().unwrap_or_default();
        Self {
            folded_name: name.to_lowercase(),
            id: id.clone(),
        }
    }
}

/// Creates Okta-shaped ids from a seeded random generator.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    rng: ChaCha8Rng,
}

impl IdGenerator {
    /// Creates a generator whose ids depend only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Returns a new 20-character id starting with `prefix` (`00u`, `00g`, …).
    pub fn next_id(&mut self, prefix: &str) -> String {
        let mut id = String::with_capacity(ID_LENGTH);
        id.push_str(prefix);
        while id.len() < ID_LENGTH {
            let index = self.rng.gen_range(0..ID_ALPHABET.len());
            id.push(char::from(ID_ALPHABET[index]));
        }
        id
    }
}

/// An Okta org in memory.
#[derive(Clone)]
pub struct Org {
    org_id: String,
    user_type_id: String,
    ids: IdGenerator,
    users: BTreeMap<Id, User>,
    logins: HashMap<String, Id>,
    groups: HashMap<Id, Group>,
    group_order: BTreeSet<GroupKey>,
    everyone: Option<Id>,
    members: HashMap<Id, BTreeSet<Id>>,
    groups_of_user: HashMap<Id, BTreeSet<Id>>,
    membership_count: usize,
}

impl std::fmt::Debug for Org {
    /// Shows the org id and sizes only, because an org can hold a million
    /// memberships.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Org")
            .field("org_id", &self.org_id)
            .field("users", &self.users.len())
            .field("groups", &self.groups.len())
            .field("memberships", &self.membership_count)
            .finish_non_exhaustive()
    }
}

impl Org {
    /// Creates an org with only the Everyone group. Its ids derive from `seed`.
    pub fn new(seed: u64, now: DateTime<Utc>) -> Self {
        let mut org = Self::without_everyone(seed);
        let everyone = defaults::everyone_group(org.ids.next_id("00g"), now);
        // The object is complete and its id is new, so inserting cannot fail.
        if let Err(error) = org.insert_group(everyone) {
            tracing::error!(%error, "creating the Everyone group failed");
        }
        org
    }

    /// Creates an org with no groups at all, for loaders that bring their own
    /// Everyone group (such as recorded exchanges).
    pub fn without_everyone(seed: u64) -> Self {
        let mut ids = IdGenerator::new(seed);
        let org_id = ids.next_id("00o");
        let user_type_id = ids.next_id("oty");
        Self {
            org_id,
            user_type_id,
            ids,
            users: BTreeMap::new(),
            logins: HashMap::new(),
            groups: HashMap::new(),
            group_order: BTreeSet::new(),
            everyone: None,
            members: HashMap::new(),
            groups_of_user: HashMap::new(),
            membership_count: 0,
        }
    }

    /// Returns the org id (`00o…`) that `/.well-known/okta-organization` returns.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Returns the id of the default user type, which new users get in `type.id`.
    pub fn user_type_id(&self) -> &str {
        &self.user_type_id
    }

    /// Returns a new id with `prefix` that no object in the org has yet.
    pub fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let id = self.ids.next_id(prefix);
            if !self.users.contains_key(id.as_str()) && !self.groups.contains_key(id.as_str()) {
                return id;
            }
        }
    }

    /// Returns the number of users, of every status.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Returns the number of groups, Everyone included.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Returns the number of stored memberships; Everyone's are not counted.
    pub fn membership_count(&self) -> usize {
        self.membership_count
    }

    /// Returns the Everyone group, if the org has one.
    pub fn everyone(&self) -> Option<&Group> {
        self.everyone.as_ref().and_then(|id| self.groups.get(id))
    }

    /// Finds a user by id, or by login (case-insensitively) as Okta's
    /// `GET /api/v1/users/{idOrLogin}` does.
    pub fn user(&self, id_or_login: &str) -> Option<&User> {
        if let Some(user) = self.users.get(id_or_login) {
            return Some(user);
        }
        let id = self.logins.get(&id_or_login.to_lowercase())?;
        self.users.get(id)
    }

    /// Returns whether a user has this login (case-insensitively). Faster
    /// than [`Org::user`] when only the login matters.
    pub fn login_taken(&self, login: &str) -> bool {
        self.logins.contains_key(&login.to_lowercase())
    }

    /// Finds a group by id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)
    }

    /// Iterates over users in id order, starting after `after` if given.
    pub fn users_after<'a>(&'a self, after: Option<&str>) -> impl Iterator<Item = &'a User> + 'a {
        let start = match after {
            Some(id) => Bound::Excluded(id),
            None => Bound::Unbounded,
        };
        self.users
            .range::<str, _>((start, Bound::Unbounded))
            .map(|(_, user)| user)
    }

    /// Iterates over groups in list order, starting after `after` if given.
    pub fn groups_after<'a>(
        &'a self,
        after: Option<&GroupKey>,
    ) -> impl Iterator<Item = &'a Group> + 'a {
        let start = match after {
            Some(key) => Bound::Excluded(key),
            None => Bound::Unbounded,
        };
        self.group_order
            .range((start, Bound::Unbounded))
            .filter_map(|key| self.groups.get(&key.id))
    }

    /// Iterates over a group's members in id order, starting after `after`.
    /// Returns `None` when the group does not exist.
    pub fn members_after<'a>(
        &'a self,
        group_id: &str,
        after: Option<&str>,
    ) -> Option<Box<dyn Iterator<Item = &'a User> + 'a>> {
        if self.is_everyone(group_id) {
            return Some(Box::new(self.users_after(after)));
        }
        let members = self.members.get(group_id)?;
        let start = match after {
            Some(id) => Bound::Excluded(id),
            None => Bound::Unbounded,
        };
        let users = members
            .range::<str, _>((start, Bound::Unbounded))
            .filter_map(|id| self.users.get(id));
        Some(Box::new(users))
    }

    /// Returns the number of members of a group, or `None` when it does not exist.
    pub fn member_count(&self, group_id: &str) -> Option<usize> {
        if self.is_everyone(group_id) {
            return Some(self.users.len());
        }
        self.members.get(group_id).map(BTreeSet::len)
    }

    /// Returns the groups a user belongs to, in list order, Everyone included.
    /// Returns `None` when the user does not exist.
    pub fn groups_of(&self, user_id: &str) -> Option<Vec<&Group>> {
        let user = self.users.get(user_id)?;
        let mut groups: Vec<&Group> = self
            .groups_of_user
            .get(&user.id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.groups.get(id))
            .chain(self.everyone())
            .collect();
        groups.sort_by(|a, b| a.order_key.cmp(&b.order_key));
        Some(groups)
    }

    /// Returns whether the user belongs to the group (always true for Everyone).
    pub fn is_member(&self, group_id: &str, user_id: &str) -> bool {
        if self.is_everyone(group_id) {
            return self.users.contains_key(user_id);
        }
        self.members
            .get(group_id)
            .is_some_and(|members| members.contains(user_id))
    }

    /// Returns whether the user belongs to at least one of `group_ids`.
    pub fn is_member_of_any(&self, group_ids: &BTreeSet<String>, user_id: &str) -> bool {
        if let Some(everyone) = &self.everyone {
            if group_ids.contains(everyone.as_ref()) && self.users.contains_key(user_id) {
                return true;
            }
        }
        let Some(groups) = self.groups_of_user.get(user_id) else {
            return false;
        };
        if groups.len() <= group_ids.len() {
            groups.iter().any(|id| group_ids.contains(id.as_ref()))
        } else {
            group_ids.iter().any(|id| groups.contains(id.as_str()))
        }
    }

    fn is_everyone(&self, group_id: &str) -> bool {
        self.everyone.as_deref() == Some(group_id)
    }

    /// Adds a complete user object (see [`complete_user`]) or replaces the
    /// user with the same id. Returns the user's id.
    pub fn insert_user(&mut self, object: Value) -> Result<Id, OrgError> {
        let id_text = required_str(&object, "id", "user", "id")?;
        let login = required_str(&object["profile"], "login", "user", "profile.login")?;
        let login_key = login.to_lowercase();
        let serialized = serialize_user(&object)?;
        if let Some(existing) = self.logins.get(&login_key) {
            if existing.as_ref() != id_text {
                return Err(OrgError::LoginTaken {
                    login: login.to_owned(),
                    existing: existing.to_string(),
                });
            }
        }

        let id = match self.users.get_key_value(id_text) {
            Some((id, old)) => {
                let id = id.clone();
                self.logins.remove(&old.login_key);
                id
            }
            None => Id::from(id_text),
        };
        self.logins.insert(login_key.clone(), id.clone());
        let user = User {
            id: id.clone(),
            login_key,
            object,
            serialized,
        };
        self.users.insert(id.clone(), user);
        Ok(id)
    }

    /// Removes a user and all its memberships. Returns the removed user.
    pub fn remove_user(&mut self, id: &str, now: DateTime<Utc>) -> Option<User> {
        let user = self.users.remove(id)?;
        self.logins.remove(&user.login_key);
        let groups = self.groups_of_user.remove(id).unwrap_or_default();
        for group_id in &groups {
            if let Some(members) = self.members.get_mut(group_id) {
                members.remove(id);
                self.membership_count -= 1;
            }
            self.touch_memberships(group_id, now);
        }
        if let Some(everyone) = self.everyone.clone() {
            self.touch_memberships(&everyone, now);
        }
        Some(user)
    }

    /// Adds a complete group object (see [`complete_group`]) or replaces the
    /// group with the same id, keeping its members. The first `BUILT_IN`
    /// group named `Everyone` becomes the org's Everyone group. A top-level
    /// `source: {"id": …}` is taken out of the object and kept as the group's
    /// source app.
    pub fn insert_group(&mut self, mut object: Value) -> Result<Id, OrgError> {
        let source_app_id = object
            .as_object_mut()
            .and_then(|map| map.remove("source"))
            .and_then(|source| source["id"].as_str().map(str::to_owned));
        let id_text = required_str(&object, "id", "group", "id")?;
        required_str(&object["profile"], "name", "group", "profile.name")?;
        let id = match self.groups.get_key_value(id_text) {
            Some((id, old)) => {
                let id = id.clone();
                self.group_order.remove(&old.order_key);
                id
            }
            None => Id::from(id_text),
        };

        let order_key = GroupKey::of(&object, &id);
        if self.everyone.is_none() && is_everyone(&object) {
            self.everyone = Some(id.clone());
        }
        if !self.is_everyone(&id) {
            self.members.entry(id.clone()).or_default();
        }
        self.group_order.insert(order_key.clone());
        let group = Group {
            id: id.clone(),
            order_key,
            object,
            source_app_id,
        };
        self.groups.insert(id.clone(), group);
        Ok(id)
    }

    /// Removes a group and its memberships. Everyone cannot be removed.
    pub fn remove_group(&mut self, id: &str) -> Result<Group, OrgError> {
        if self.is_everyone(id) {
            return Err(OrgError::EveryoneIsImplicit(id.to_owned()));
        }
        let group = self
            .groups
            .remove(id)
            .ok_or_else(|| OrgError::GroupNotFound(id.to_owned()))?;
        self.group_order.remove(&group.order_key);
        for user_id in self.members.remove(id).unwrap_or_default() {
            if let Some(groups) = self.groups_of_user.get_mut(&user_id) {
                groups.remove(id);
            }
            self.membership_count -= 1;
        }
        Ok(group)
    }

    /// Adds a user to a group. Returns `false` if it was already a member.
    pub fn add_member(
        &mut self,
        group_id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, OrgError> {
        let (group_id, user_id) = self.membership_ids(group_id, user_id)?;
        let members = self.members.entry(group_id.clone()).or_default();
        if !members.insert(user_id.clone()) {
            return Ok(false);
        }
        self.groups_of_user
            .entry(user_id)
            .or_default()
            .insert(group_id.clone());
        self.membership_count += 1;
        self.touch_memberships(&group_id, now);
        Ok(true)
    }

    /// Removes a user from a group. Returns `false` if it was not a member.
    pub fn remove_member(
        &mut self,
        group_id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, OrgError> {
        let (group_id, user_id) = self.membership_ids(group_id, user_id)?;
        let removed = self
            .members
            .get_mut(&group_id)
            .is_some_and(|members| members.remove(&user_id));
        if !removed {
            return Ok(false);
        }
        if let Some(groups) = self.groups_of_user.get_mut(&user_id) {
            groups.remove(&group_id);
        }
        self.membership_count -= 1;
        self.touch_memberships(&group_id, now);
        Ok(true)
    }

    /// Adds many memberships at once without updating timestamps, for
    /// generators and loaders: each entry is a group id and its new members.
    /// Unknown ids and Everyone are rejected before anything changes.
    ///
    /// Sets are built from sorted runs rather than by single inserts, which
    /// keeps a million memberships to about a second.
    pub fn add_members_bulk(&mut self, memberships: Vec<(Id, Vec<Id>)>) -> Result<(), OrgError> {
        // Each user is checked once, not once per membership, because a user
        // lookup in the ordered map costs a string comparison per level.
        let mut new_groups_of_user: HashMap<Id, Vec<Id>> = HashMap::new();
        for (group_id, user_ids) in &memberships {
            self.checked_group_id(group_id)?;
            for user_id in user_ids {
                new_groups_of_user
                    .entry(user_id.clone())
                    .or_default()
                    .push(group_id.clone());
            }
        }
        if let Some(missing) = new_groups_of_user
            .keys()
            .find(|id| !self.users.contains_key(*id))
        {
            return Err(OrgError::UserNotFound(missing.to_string()));
        }

        for (group_id, mut user_ids) in memberships {
            user_ids.sort_unstable();
            user_ids.dedup();
            let members = self.members.entry(group_id).or_default();
            let before = members.len();
            if members.is_empty() {
                *members = user_ids.into_iter().collect();
            } else {
                members.extend(user_ids);
            }
            self.membership_count += members.len() - before;
        }
        for (user_id, group_ids) in new_groups_of_user {
            self.groups_of_user
                .entry(user_id)
                .or_default()
                .extend(group_ids);
        }
        Ok(())
    }

    fn membership_ids(&self, group_id: &str, user_id: &str) -> Result<(Id, Id), OrgError> {
        let group = self.checked_group_id(group_id)?;
        let (user, _) = self
            .users
            .get_key_value(user_id)
            .ok_or_else(|| OrgError::UserNotFound(user_id.to_owned()))?;
        Ok((group, user.clone()))
    }

    fn checked_group_id(&self, group_id: &str) -> Result<Id, OrgError> {
        if self.is_everyone(group_id) {
            return Err(OrgError::EveryoneIsImplicit(group_id.to_owned()));
        }
        let (group, _) = self
            .groups
            .get_key_value(group_id)
            .ok_or_else(|| OrgError::GroupNotFound(group_id.to_owned()))?;
        Ok(group.clone())
    }

    fn touch_memberships(&mut self, group_id: &str, now: DateTime<Utc>) {
        if let Some(group) = self.groups.get_mut(group_id) {
            group.object["lastMembershipUpdated"] = Value::String(format_timestamp(now));
        }
    }
}

/// Reads `object[key]` as a non-empty string; `field` is its full path for
/// the error message.
fn serialize_user(object: &Value) -> Result<SerializedObject, OrgError> {
    let invalid = |reason: String| OrgError::Invalid {
        kind: "user",
        reason,
    };
    let Value::Object(map) = object else {
        return Err(invalid(
            "the user is not a JSON object; send an object".to_owned(),
        ));
    };
    SerializedObject::new(map).map_err(|error| {
        invalid(format!(
            "the user cannot be written as JSON ({error}); fix the object"
        ))
    })
}

fn required_str<'a>(
    object: &'a Value,
    key: &str,
    kind: &'static str,
    field: &str,
) -> Result<&'a str, OrgError> {
    match object.get(key).and_then(Value::as_str) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(OrgError::Invalid {
            kind,
            reason: format!("`{field}` is missing or not a non-empty string; set it"),
        }),
    }
}

/// The org shared between the API handlers and the control API.
///
/// The org sits behind an `Arc` as well as the lock, so that a snapshot of
/// the starting org (kept for `POST /_fake/reset`) costs nothing until the
/// first change, which copies the org once ([`Arc::make_mut`]).
///
/// A poisoned lock (a handler panicked while holding it) is recovered from,
/// because every change to the org leaves it consistent before it can panic.
#[derive(Debug, Clone)]
pub struct OrgHandle {
    inner: Arc<RwLock<Arc<Org>>>,
}

impl OrgHandle {
    /// Wraps an org for sharing.
    pub fn new(org: Org) -> Self {
        Self::from_shared(Arc::new(org))
    }

    /// Wraps a shared org; the first change copies it.
    pub fn from_shared(org: Arc<Org>) -> Self {
        Self {
            inner: Arc::new(RwLock::new(org)),
        }
    }

    /// Locks the org for reading.
    pub fn read(&self) -> RwLockReadGuard<'_, Arc<Org>> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the org for writing.
    pub fn write(&self) -> OrgWriteGuard<'_> {
        let guard = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        OrgWriteGuard { guard }
    }

    /// Replaces the whole org, as `POST /_fake/reset` does.
    pub fn replace(&self, org: Arc<Org>) {
        *self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = org;
    }
}

/// Write access to the shared org. Changing the org through it first copies
/// the org if a snapshot still shares it.
#[derive(Debug)]
pub struct OrgWriteGuard<'a> {
    guard: RwLockWriteGuard<'a, Arc<Org>>,
}

impl std::ops::Deref for OrgWriteGuard<'_> {
    type Target = Org;

    fn deref(&self) -> &Org {
        &self.guard
    }
}

impl std::ops::DerefMut for OrgWriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Org {
        Arc::make_mut(&mut self.guard)
    }
}

/// Builds a JSON object from `(key, value)` pairs, keeping their order.
pub(crate) fn object_of(fields: Vec<(&str, Value)>) -> Value {
    let map: Map<String, Value> = fields
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .map(|time| time.with_timezone(&Utc))
            .unwrap()
    }

    fn org_with(users: &[&str], groups: &[&str]) -> Org {
        let mut org = Org::new(7, now());
        for login in users {
            let user =
                complete_user(&mut org, json!({"profile": {"login": login}}), now()).unwrap();
            org.insert_user(user).unwrap();
        }
        for name in groups {
            let group =
                complete_group(&mut org, json!({"profile": {"name": name}}), now()).unwrap();
            org.insert_group(group).unwrap();
        }
        org
    }

    fn group_id(org: &Org, name: &str) -> String {
        org.groups_after(None)
            .find(|group| group.name() == name)
            .map(|group| group.id().to_owned())
            .unwrap()
    }

    #[test]
    fn ids_have_okta_shape() {
        let id = IdGenerator::new(1).next_id("00u");
        assert_eq!(id.len(), ID_LENGTH);
        assert!(id.starts_with("00u"));
        assert!(id.bytes().all(|byte| byte.is_ascii_alphanumeric()));
    }

    #[test]
    fn users_iterate_in_id_order() {
        let org = org_with(&["c@x.example", "a@x.example", "b@x.example"], &[]);
        let ids: Vec<&str> = org.users_after(None).map(User::id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn users_after_skips_cursor() {
        let org = org_with(&["a@x.example", "b@x.example", "c@x.example"], &[]);
        let ids: Vec<&str> = org.users_after(None).map(User::id).collect();
        let rest: Vec<&str> = org.users_after(Some(ids[0])).map(User::id).collect();
        assert_eq!(rest, ids[1..]);
    }

    #[test]
    fn user_found_by_login_ignoring_case() {
        let org = org_with(&["Ana@A.example"], &[]);
        assert!(org.user("ana@a.example").is_some());
    }

    #[test]
    fn duplicate_login_rejected() {
        let mut org = org_with(&["ana@a.example"], &[]);
        let twin = complete_user(
            &mut org,
            json!({"profile": {"login": "ANA@a.example"}}),
            now(),
        );
        let error = org.insert_user(twin.unwrap()).unwrap_err();
        assert!(matches!(error, OrgError::LoginTaken { .. }));
    }

    #[test]
    fn groups_ordered_by_folded_name() {
        let org = org_with(&[], &["beta", "Alpha", "gamma"]);
        let names: Vec<&str> = org.groups_after(None).map(Group::name).collect();
        assert_eq!(names, ["Alpha", "beta", "Everyone", "gamma"]);
    }

    #[test]
    fn everyone_contains_every_user() {
        let org = org_with(&["a@x.example", "b@x.example"], &[]);
        let everyone = org.everyone().map(|group| group.id().to_owned()).unwrap();
        assert_eq!(org.member_count(&everyone), Some(2));
    }

    #[test]
    fn everyone_membership_cannot_change() {
        let mut org = org_with(&["a@x.example"], &[]);
        let everyone = org.everyone().map(|group| group.id().to_owned()).unwrap();
        let user = org
            .users_after(None)
            .next()
            .map(|u| u.id().to_owned())
            .unwrap();
        let result = org.remove_member(&everyone, &user, now());
        assert_eq!(result, Err(OrgError::EveryoneIsImplicit(everyone)));
    }

    #[test]
    fn membership_indexes_agree() {
        let mut org = org_with(&["a@x.example", "b@x.example"], &["Ops"]);
        let ops = group_id(&org, "Ops");
        let user = org
            .users_after(None)
            .next()
            .map(|u| u.id().to_owned())
            .unwrap();
        assert_eq!(org.add_member(&ops, &user, now()), Ok(true));
        assert_eq!(org.add_member(&ops, &user, now()), Ok(false));
        assert!(org.is_member(&ops, &user));
        let names: Vec<&str> = org
            .groups_of(&user)
            .unwrap()
            .iter()
            .map(|g| g.name())
            .collect();
        assert_eq!(names, ["Everyone", "Ops"]);
        assert_eq!(org.membership_count(), 1);
    }

    #[test]
    fn removing_user_drops_memberships() {
        let mut org = org_with(&["a@x.example"], &["Ops"]);
        let ops = group_id(&org, "Ops");
        let user = org
            .users_after(None)
            .next()
            .map(|u| u.id().to_owned())
            .unwrap();
        org.add_member(&ops, &user, now()).unwrap();
        org.remove_user(&user, now());
        assert_eq!(org.member_count(&ops), Some(0));
        assert_eq!(org.membership_count(), 0);
    }

    #[test]
    fn removing_group_drops_memberships() {
        let mut org = org_with(&["a@x.example"], &["Ops"]);
        let ops = group_id(&org, "Ops");
        let user = org
            .users_after(None)
            .next()
            .map(|u| u.id().to_owned())
            .unwrap();
        org.add_member(&ops, &user, now()).unwrap();
        org.remove_group(&ops).unwrap();
        assert_eq!(org.groups_of(&user).unwrap().len(), 1);
        assert_eq!(org.membership_count(), 0);
    }

    #[test]
    fn membership_change_updates_timestamp() {
        let mut org = org_with(&["a@x.example"], &["Ops"]);
        let ops = group_id(&org, "Ops");
        let user = org
            .users_after(None)
            .next()
            .map(|u| u.id().to_owned())
            .unwrap();
        let later = now() + chrono::Duration::hours(1);
        org.add_member(&ops, &user, later).unwrap();
        let stamp = org.group(&ops).unwrap().object()["lastMembershipUpdated"].clone();
        assert_eq!(stamp, json!(format_timestamp(later)));
    }

    #[test]
    fn renaming_group_moves_it() {
        let mut org = org_with(&[], &["Alpha", "Zulu"]);
        let alpha = group_id(&org, "Alpha");
        let mut object = org.group(&alpha).unwrap().object().clone();
        object["profile"]["name"] = json!("Zz top");
        org.insert_group(object).unwrap();
        let last = org.groups_after(None).last().map(Group::name);
        assert_eq!(last, Some("Zz top"));
        assert_eq!(org.group_count(), 3);
    }

    #[test]
    fn bulk_members_indexed_both_ways() {
        let mut org = org_with(&["a@x.example", "b@x.example"], &["Ops"]);
        let ops = Id::from(group_id(&org, "Ops"));
        let users: Vec<Id> = org.users_after(None).map(|u| Id::from(u.id())).collect();
        let doubled = vec![users[1].clone(), users[0].clone(), users[1].clone()];
        org.add_members_bulk(vec![(ops.clone(), doubled)]).unwrap();
        assert_eq!(org.membership_count(), 2);
        assert_eq!(org.member_count(&ops), Some(2));
        assert_eq!(org.groups_of(&users[1]).unwrap().len(), 2);
    }

    #[test]
    fn bulk_members_reject_unknown_user() {
        let mut org = org_with(&["a@x.example"], &["Ops"]);
        let ops = Id::from(group_id(&org, "Ops"));
        let result = org.add_members_bulk(vec![(ops, vec![Id::from("00unknown")])]);
        assert_eq!(result, Err(OrgError::UserNotFound("00unknown".to_owned())));
        assert_eq!(org.membership_count(), 0);
    }

    #[test]
    fn snapshot_unchanged_by_writes() {
        let snapshot = Arc::new(org_with(&["a@x.example"], &[]));
        let handle = OrgHandle::from_shared(Arc::clone(&snapshot));
        let user = snapshot
            .users_after(None)
            .next()
            .map(|u| u.id().to_owned())
            .unwrap();
        handle.write().remove_user(&user, now());
        assert_eq!(handle.read().user_count(), 0);
        assert_eq!(snapshot.user_count(), 1);
    }

    #[test]
    fn member_of_any_checks_sets() {
        let mut org = org_with(&["a@x.example", "b@x.example"], &["Ops"]);
        let ops = group_id(&org, "Ops");
        let ids: Vec<String> = org.users_after(None).map(|u| u.id().to_owned()).collect();
        org.add_member(&ops, &ids[0], now()).unwrap();
        let allowed = BTreeSet::from([ops]);
        assert!(org.is_member_of_any(&allowed, &ids[0]));
        assert!(!org.is_member_of_any(&allowed, &ids[1]));
    }
}
