//! The result of a doctor run: a [`Report`] per provider, made of
//! [`Check`]s in a fixed order.
//!
//! A *check* is one step of the setup, such as "Okta recognizes the key id". Its
//! [`Status`] is `pass`, `warn` (works, but should change), `fail` (a sync
//! would fail or read the wrong data) or `skip` (not run, because an earlier
//! check failed or the check does not apply). The [`Checklist`] collects
//! results in any order and puts them in the order of [`CheckId`].

use std::fmt;

use serde::{Serialize, Serializer};

use crate::scale::ScaleEstimate;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The step is set up correctly.
    Pass,
    /// The step works, but something should change.
    Warn,
    /// The step is broken: a sync would fail or read the wrong data.
    Fail,
    /// The check did not run.
    Skip,
}

impl Status {
    /// Returns the lower-case name, as in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The checks doctor runs, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckId {
    /// The provider's settings load and validate.
    Config,
    /// `oktaUrl` is an https org URL.
    UrlFormat,
    /// `oktaUrl` serves Okta's org metadata.
    UrlOrg,
    /// This machine's clock agrees with Okta's `Date` header.
    UrlClock,
    /// `privateKey` is a private key orgsync can sign with.
    KeyParse,
    /// A key id is set where Okta needs one.
    KeyId,
    /// Okta recognizes `clientId`.
    AppClient,
    /// The app is an API Services app with public key authentication.
    AppType,
    /// Okta recognizes the key id on the app.
    KeyKnown,
    /// The signature verifies with the app's public key.
    KeySignature,
    /// Okta accepts the token request (audience, time claims, other errors).
    AppToken,
    /// The app does not require DPoP.
    AppDpop,
    /// The app is granted the requested scopes.
    AppScopes,
    /// The access token carries the scopes orgsync needs.
    TokenScopes,
    /// Okta accepts the SSWS API token.
    ApiToken,
    /// The app (or API token's admin) has an admin role.
    AppRole,
    /// The admin role shows every group and member.
    AppResources,
    /// `userSearchFilter` is accepted and selects users.
    UserFilter,
    /// `groupFilter` is accepted and selects groups.
    GroupFilter,
    /// The size of a full sync.
    ScaleSize,
    /// A full sync fits in `schedule.timeout`.
    ScaleDuration,
}

impl CheckId {
    /// Every check of a provider that signs in with a private key, in order.
    pub const PRIVATE_KEY: [CheckId; 20] = [
        CheckId::Config,
        CheckId::UrlFormat,
        CheckId::UrlOrg,
        CheckId::UrlClock,
        CheckId::KeyParse,
        CheckId::KeyId,
        CheckId::AppClient,
        CheckId::AppType,
        CheckId::KeyKnown,
        CheckId::KeySignature,
        CheckId::AppToken,
        CheckId::AppDpop,
        CheckId::AppScopes,
        CheckId::TokenScopes,
        CheckId::AppRole,
        CheckId::AppResources,
        CheckId::UserFilter,
        CheckId::GroupFilter,
        CheckId::ScaleSize,
        CheckId::ScaleDuration,
    ];

    /// Every check of a provider that signs in with an SSWS API token.
    pub const API_TOKEN: [CheckId; 11] = [
        CheckId::Config,
        CheckId::UrlFormat,
        CheckId::UrlOrg,
        CheckId::UrlClock,
        CheckId::ApiToken,
        CheckId::AppRole,
        CheckId::AppResources,
        CheckId::UserFilter,
        CheckId::GroupFilter,
        CheckId::ScaleSize,
        CheckId::ScaleDuration,
    ];

    /// Returns the stable id used in JSON output, such as `key.known`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Config => "config",
            CheckId::UrlFormat => "url.format",
            CheckId::UrlOrg => "url.org",
            CheckId::UrlClock => "url.clock",
            CheckId::KeyParse => "key.parse",
            CheckId::KeyId => "key.id",
            CheckId::AppClient => "app.client",
            CheckId::AppType => "app.type",
            CheckId::KeyKnown => "key.known",
            CheckId::KeySignature => "key.signature",
            CheckId::AppToken => "app.token",
            CheckId::AppDpop => "app.dpop",
            CheckId::AppScopes => "app.scopes",
            CheckId::TokenScopes => "app.token-scopes",
            CheckId::ApiToken => "app.api-token",
            CheckId::AppRole => "app.role",
            CheckId::AppResources => "app.resources",
            CheckId::UserFilter => "filters.users",
            CheckId::GroupFilter => "filters.groups",
            CheckId::ScaleSize => "scale.size",
            CheckId::ScaleDuration => "scale.duration",
        }
    }

    /// Returns the one-line title, written as the state a passing check confirms.
    pub fn title(self) -> &'static str {
        match self {
            CheckId::Config => "Provider settings are valid",
            CheckId::UrlFormat => "oktaUrl is an org URL",
            CheckId::UrlOrg => "oktaUrl serves an Okta org",
            CheckId::UrlClock => "This machine's clock matches Okta's",
            CheckId::KeyParse => "privateKey is a usable private key",
            CheckId::KeyId => "The key id is set where Okta needs it",
            CheckId::AppClient => "Okta recognizes clientId",
            CheckId::AppType => "The app is an API Services app with public key authentication",
            CheckId::KeyKnown => "Okta recognizes the key id",
            CheckId::KeySignature => "privateKey matches the public key on the app",
            CheckId::AppToken => "Okta accepts the token request",
            CheckId::AppDpop => "The app does not require DPoP",
            CheckId::AppScopes => "The app is granted the requested scopes",
            CheckId::TokenScopes => "The access token has okta.users.read and okta.groups.read",
            CheckId::ApiToken => "Okta accepts the API token",
            CheckId::AppRole => "The app has an admin role",
            CheckId::AppResources => "The admin role shows every group and member",
            CheckId::UserFilter => "userSearchFilter selects users",
            CheckId::GroupFilter => "groupFilter selects groups",
            CheckId::ScaleSize => "Size of a full sync",
            CheckId::ScaleDuration => "A full sync fits in schedule.timeout",
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The check's id.
    pub id: CheckId,
    /// [`CheckId::title`].
    pub title: &'static str,
    /// The outcome.
    pub status: Status,
    /// The finding, in the Okta admin's terms.
    pub detail: String,
    /// The setting to change in Okta or in the config, for `warn` and `fail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The failed check that kept this one from running, for `skip`.
    #[serde(rename = "waitsOn", skip_serializing_if = "Option::is_none")]
    pub waits_on: Option<CheckId>,
}

/// The checks of one provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The provider id.
    pub provider: String,
    /// The org URL checked, when the settings had one.
    pub okta_url: Option<String>,
    /// The worst status of the checks: `fail`, else `warn`, else `pass`.
    pub status: Status,
    /// Every check, in [`CheckId`] order.
    pub checks: Vec<Check>,
    /// The numbers behind the scale checks, when they ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleEstimate>,
}

impl Report {
    /// Builds a report, computing its overall status from `checks`.
    pub fn new(
        provider: String,
        okta_url: Option<String>,
        checks: Vec<Check>,
        scale: Option<ScaleEstimate>,
    ) -> Report {
        let status = overall_status(&checks);
        Report {
            provider,
            okta_url,
            status,
            checks,
            scale,
        }
    }

    /// Returns whether any check failed.
    pub fn has_failures(&self) -> bool {
        self.status == Status::Fail
    }

    /// Returns the check with `id`, if the report has it.
    pub fn check(&self, id: CheckId) -> Option<&Check> {
        self.checks.iter().find(|check| check.id == id)
    }
}

fn overall_status(checks: &[Check]) -> Status {
    let has = |status| checks.iter().any(|check| check.status == status);
    if has(Status::Fail) {
        Status::Fail
    } else if has(Status::Warn) {
        Status::Warn
    } else {
        Status::Pass
    }
}

/// Collects check results in any order for a fixed list of planned checks.
#[derive(Debug)]
pub(crate) struct Checklist {
    planned: Vec<CheckId>,
    results: Vec<Check>,
}

impl Checklist {
    pub(crate) fn new(planned: &[CheckId]) -> Checklist {
        Checklist {
            planned: planned.to_vec(),
            results: Vec::new(),
        }
    }

    /// Records a result, replacing an earlier one for the same check.
    pub(crate) fn record(
        &mut self,
        id: CheckId,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.results.retain(|check| check.id != id);
        self.results.push(Check {
            id,
            title: id.title(),
            status,
            detail: detail.into(),
            fix,
            waits_on: None,
        });
    }

    pub(crate) fn pass(&mut self, id: CheckId, detail: impl Into<String>) {
        self.record(id, Status::Pass, detail, None);
    }

    pub(crate) fn warn(&mut self, id: CheckId, detail: impl Into<String>, fix: impl Into<String>) {
        self.record(id, Status::Warn, detail, Some(fix.into()));
    }

    pub(crate) fn fail(&mut self, id: CheckId, detail: impl Into<String>, fix: impl Into<String>) {
        self.record(id, Status::Fail, detail, Some(fix.into()));
    }

    pub(crate) fn skip(&mut self, id: CheckId, detail: impl Into<String>) {
        self.record(id, Status::Skip, detail, None);
    }

    /// Returns whether `id` has a result.
    pub(crate) fn has(&self, id: CheckId) -> bool {
        self.results.iter().any(|check| check.id == id)
    }

    /// Returns the checks in planned order. A check without a result is
    /// skipped, naming `stopped_by`, the failed check the run waited on.
    pub(crate) fn finish(mut self, stopped_by: Option<CheckId>) -> Vec<Check> {
        let mut checks = Vec::with_capacity(self.planned.len());
        for id in self.planned.clone() {
            match self.results.iter().position(|check| check.id == id) {
                Some(index) => checks.push(self.results.swap_remove(index)),
                None => checks.push(Check {
                    id,
                    title: id.title(),
                    status: Status::Skip,
                    detail: skipped_detail(stopped_by),
                    fix: None,
                    waits_on: stopped_by,
                }),
            }
        }
        checks
    }
}

fn skipped_detail(stopped_by: Option<CheckId>) -> String {
    match stopped_by {
        Some(failed) => format!("not run, because `{failed}` ({}) failed", failed.title()),
        None => "not run".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_out_in_planned_order() {
        let mut list = Checklist::new(&[CheckId::Config, CheckId::UrlFormat, CheckId::UrlOrg]);
        list.pass(CheckId::UrlOrg, "org");
        list.pass(CheckId::Config, "config");
        list.pass(CheckId::UrlFormat, "url");
        let ids: Vec<CheckId> = list.finish(None).iter().map(|check| check.id).collect();
        assert_eq!(ids, [CheckId::Config, CheckId::UrlFormat, CheckId::UrlOrg]);
    }

    #[test]
    fn missing_results_name_failed_check() {
        let mut list = Checklist::new(&[CheckId::UrlOrg, CheckId::UrlClock]);
        list.fail(CheckId::UrlOrg, "refused", "check oktaUrl");
        let checks = list.finish(Some(CheckId::UrlOrg));
        assert_eq!(checks[1].status, Status::Skip);
        assert!(
            checks[1].detail.contains("`url.org`"),
            "{}",
            checks[1].detail
        );
        assert_eq!(checks[1].waits_on, Some(CheckId::UrlOrg));
    }

    #[test]
    fn later_result_replaces_earlier() {
        let mut list = Checklist::new(&[CheckId::KeyId]);
        list.warn(CheckId::KeyId, "not set", "set keyId");
        list.fail(CheckId::KeyId, "needed", "set keyId");
        let checks = list.finish(None);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Fail);
    }

    #[test]
    fn warn_without_fail_is_overall_warn() {
        let mut list = Checklist::new(&[CheckId::Config, CheckId::KeyId]);
        list.pass(CheckId::Config, "ok");
        list.warn(CheckId::KeyId, "not set", "set keyId");
        let report = Report::new("default".into(), None, list.finish(None), None);
        assert_eq!(report.status, Status::Warn);
        assert!(!report.has_failures());
    }

    #[test]
    fn check_ids_are_unique() {
        let mut names: Vec<&str> = CheckId::PRIVATE_KEY.iter().map(|id| id.as_str()).collect();
        names.push(CheckId::ApiToken.as_str());
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn check_serializes_id_as_string() {
        let mut list = Checklist::new(&[CheckId::KeyKnown]);
        list.pass(CheckId::KeyKnown, "kid k1");
        let json = serde_json::to_value(&list.finish(None)[0]).expect("JSON");
        assert_eq!(json["id"], "key.known");
        assert_eq!(json["status"], "pass");
        assert!(json.get("fix").is_none());
        assert!(json.get("waitsOn").is_none());
    }

    #[test]
    fn skipped_check_serializes_waits_on() {
        let mut list = Checklist::new(&[CheckId::UrlOrg, CheckId::AppRole]);
        list.fail(CheckId::UrlOrg, "refused", "check oktaUrl");
        let checks = list.finish(Some(CheckId::UrlOrg));
        let json = serde_json::to_value(&checks[1]).expect("JSON");
        assert_eq!(json["status"], "skip");
        assert_eq!(json["waitsOn"], "url.org");
    }
}
