//! Options that steer which Okta records become entities and how they look.
//!
//! *Selection* decides which users and groups are ingested at all; the
//! *transform* decides the names, types, hierarchy and annotations of the
//! entities built from them. The config loader fills both from a provider's
//! settings; the defaults here match the documented config defaults.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The choice of Okta users and groups that a sync ingests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectionOptions {
    /// Ingest `BUILT_IN` groups such as Everyone (default: no).
    pub include_built_in_groups: bool,
    /// Ingest `DEPROVISIONED` users (default: no). Okta returns them from
    /// searches and filters, so they are dropped here rather than trusted to
    /// be absent.
    pub include_deprovisioned: bool,
    /// Ingest only users who are members of at least one ingested group
    /// (default: no).
    pub only_group_members: bool,
}

/// The profile value that becomes a user's `metadata.name`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UserNaming {
    /// The part of `profile.email` before `@`, else of `profile.login`, else
    /// the Okta id.
    #[default]
    EmailLocalPart,
    /// The whole `profile.email`, else `profile.login`, else the Okta id.
    Email,
    /// `profile.login`, else the Okta id.
    Login,
    /// The Okta user id.
    Id,
}

/// The profile value that becomes a group's `metadata.name`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupNaming {
    /// `profile.name`, else the Okta id.
    #[default]
    Name,
    /// The Okta group id.
    Id,
}

/// The rule that sets a group's `spec.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupTypeRule {
    /// The same type for every group, used as written.
    Fixed(String),
    /// The value of a group profile attribute, normalized like an entity name
    /// (`Business Unit` becomes `business-unit`). When the attribute is
    /// missing, not a string or blank, `default` is used as written.
    Attribute { attribute: String, default: String },
}

impl Default for GroupTypeRule {
    fn default() -> Self {
        GroupTypeRule::Fixed(DEFAULT_GROUP_TYPE.to_string())
    }
}

/// The group type used when the configured one is blank.
pub const DEFAULT_GROUP_TYPE: &str = "team";

/// The annotation prefix used for copied profile attributes by default.
pub const DEFAULT_ANNOTATION_PREFIX: &str = "okta.com/";

/// Settings for building entities from the ingested Okta records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformOptions {
    /// The provider id, written into the `backstage.io/managed-by-location`
    /// annotations as `okta:<provider_id>`.
    pub provider_id: String,
    pub user_naming: UserNaming,
    pub group_naming: GroupNaming,
    pub group_type: GroupTypeRule,
    /// A group profile attribute that contains the parent group's
    /// `profile.name` (matched case-insensitively) or Okta id.
    pub parent_group_attribute: Option<String>,
    /// A user profile attribute that contains a picture URL for
    /// `spec.profile.picture`.
    pub picture_attribute: Option<String>,
    /// Profile attributes copied into annotations, for users and groups.
    pub annotation_attributes: Vec<String>,
    /// The prefix of copied attribute annotations: a DNS-style prefix, with
    /// or without the closing `/` (`okta.com/`). Text after the `/` is
    /// prepended to the attribute name, so `example.com/okta-` turns
    /// `costCenter` into `example.com/okta-costCenter`.
    pub annotation_prefix: String,
    /// Emit groups that have no ingested member in them or below them.
    pub keep_empty_groups: bool,
}

impl Default for TransformOptions {
    fn default() -> Self {
        TransformOptions {
            provider_id: String::new(),
            user_naming: UserNaming::default(),
            group_naming: GroupNaming::default(),
            group_type: GroupTypeRule::default(),
            parent_group_attribute: None,
            picture_attribute: None,
            annotation_attributes: Vec::new(),
            annotation_prefix: DEFAULT_ANNOTATION_PREFIX.to_string(),
            keep_empty_groups: true,
        }
    }
}

impl TransformOptions {
    /// Returns the user profile attributes that building entities reads
    /// under these options, so a sync can drop the rest as each page arrives.
    pub fn user_profile_attributes(&self) -> BTreeSet<String> {
        let mut attributes: BTreeSet<String> =
            ["displayName", "email", "firstName", "lastName", "login"]
                .into_iter()
                .map(String::from)
                .collect();
        attributes.extend(self.picture_attribute.iter().cloned());
        attributes.extend(self.annotation_attributes.iter().cloned());
        attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_defaults_match_config_defaults() {
        let options = TransformOptions::default();
        assert_eq!(options.user_naming, UserNaming::EmailLocalPart);
        assert_eq!(options.group_naming, GroupNaming::Name);
        assert_eq!(options.group_type, GroupTypeRule::Fixed("team".into()));
        assert_eq!(options.annotation_prefix, "okta.com/");
        assert!(options.keep_empty_groups);
    }

    #[test]
    fn selection_defaults_exclude_everything_optional() {
        let selection = SelectionOptions::default();
        assert!(!selection.include_built_in_groups);
        assert!(!selection.include_deprovisioned);
        assert!(!selection.only_group_members);
    }

    #[test]
    fn profile_attributes_include_picture_and_annotations() {
        let options = TransformOptions {
            picture_attribute: Some("photoUrl".into()),
            annotation_attributes: vec!["costCenter".into(), "email".into()],
            ..TransformOptions::default()
        };
        let attributes: Vec<String> = options.user_profile_attributes().into_iter().collect();
        assert_eq!(
            attributes,
            [
                "costCenter",
                "displayName",
                "email",
                "firstName",
                "lastName",
                "login",
                "photoUrl"
            ]
        );
    }

    #[test]
    fn user_naming_reads_camel_case() {
        let naming: UserNaming = serde_json::from_str("\"emailLocalPart\"").unwrap();
        assert_eq!(naming, UserNaming::EmailLocalPart);
    }
}
