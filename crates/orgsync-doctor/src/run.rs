//! The order of doctor's steps and the state they pass on.
//!
//! Steps run in the order a sync needs them: the org URL, the key, the
//! token, the admin role, the filters, then the scale estimate. A step that
//! fails ends the run; the checks after it are skipped and name it. Local
//! checks (the key) run even when Okta cannot be reached.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use orgsync_config::ProviderConfig;
use orgsync_okta::{
    ApiResponse, ClientConfig, Credentials, Endpoint, GroupWithStats, OktaClient, OktaError,
    RateLimit,
};

use crate::report::{CheckId, Checklist, Report};
use crate::scale::ScaleEstimate;
use crate::{access, filters, scale, sign_in, url, DoctorOptions};

/// Rate limits and latencies observed in Okta's responses, for the scale estimate.
#[derive(Debug, Default)]
pub(crate) struct Observations {
    /// The rate-limit headers last seen per endpoint.
    pub(crate) rate_limits: BTreeMap<Endpoint, RateLimit>,
    /// The duration of each successful single request.
    pub(crate) latencies: Vec<Duration>,
}

/// The state of one provider's run.
pub(crate) struct Run<'a> {
    pub(crate) provider: &'a ProviderConfig,
    pub(crate) options: &'a DoctorOptions,
    pub(crate) client: OktaClient,
    pub(crate) checks: Checklist,
    pub(crate) observed: Observations,
    /// The Everyone group, when the admin role shows it.
    pub(crate) everyone: Option<GroupWithStats>,
    /// The numbers behind the scale checks.
    pub(crate) scale: Option<ScaleEstimate>,
}

impl Run<'_> {
    /// Sends one request with [`OktaClient::get`], recording its duration
    /// and rate-limit headers.
    pub(crate) async fn get(
        &mut self,
        endpoint: Endpoint,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<ApiResponse, OktaError> {
        let started = Instant::now();
        let response = self.client.get(endpoint, segments, query).await?;
        self.observed.latencies.push(started.elapsed());
        if let Some(limit) = response.rate_limit {
            self.observed.rate_limits.insert(endpoint, limit);
        }
        Ok(response)
    }

    /// Returns whether the provider signs in with an SSWS API token.
    pub(crate) fn uses_api_token(&self) -> bool {
        matches!(self.provider.credentials, Credentials::ApiToken(_))
    }
}

/// Runs the checks of `provider`; see [`crate::run_checks`].
pub(crate) async fn run(provider: &ProviderConfig, options: &DoctorOptions) -> Report {
    let started = Instant::now();
    tracing::info!(provider = %provider.id, okta_url = %provider.okta_url, "doctor started");

    let planned: &[CheckId] = match provider.credentials {
        Credentials::ApiToken(_) => &CheckId::API_TOKEN,
        Credentials::PrivateKey { .. } => &CheckId::PRIVATE_KEY,
    };
    let mut checks = Checklist::new(planned);
    let report = match build_client(provider, options) {
        Ok(client) => {
            checks.pass(CheckId::Config, format!("loaded from {}", provider.source));
            let mut run = Run {
                provider,
                options,
                client,
                checks,
                observed: Observations::default(),
                everyone: None,
                scale: None,
            };
            let stopped_by = execute(&mut run).await.err();
            let okta_url = Some(provider.okta_url.to_string());
            let checks = run.checks.finish(stopped_by);
            Report::new(provider.id.clone(), okta_url, checks, run.scale)
        }
        Err(error) => {
            checks.fail(
                CheckId::Config,
                error.to_string(),
                "fix the setting named above in the provider's config",
            );
            let checks = checks.finish(Some(CheckId::Config));
            Report::new(
                provider.id.clone(),
                Some(provider.okta_url.to_string()),
                checks,
                None,
            )
        }
    };

    tracing::info!(
        provider = %provider.id,
        status = %report.status,
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "doctor finished"
    );
    report
}

/// Runs the steps in order. `Err` names the failed check that ended the run.
async fn execute(run: &mut Run<'_>) -> Result<(), CheckId> {
    url::check_format(run);
    sign_in::check_key(run);
    url::check_org(run).await?;
    sign_in::check_token(run).await?;
    access::check_role(run).await?;

    let users = filters::check_users(run).await;
    let groups = filters::check_groups(run).await;
    access::check_resources(run, groups.as_ref().ok()).await;
    let (users, groups) = match (users, groups) {
        (Ok(users), Ok(groups)) => (users, groups),
        (Err(failed), _) | (_, Err(failed)) => return Err(failed),
    };
    scale::check(run, &users, &groups).await;
    Ok(())
}

/// Builds the client as the sync engine does, with fewer retries.
fn build_client(
    provider: &ProviderConfig,
    options: &DoctorOptions,
) -> Result<OktaClient, OktaError> {
    let mut config = ClientConfig::new(provider.okta_url.clone(), provider.credentials.clone());
    config.scopes = provider.scopes.clone();
    config.rate_limit_share = provider.rate_limit_share;
    config.max_retries = provider.max_retries.min(options.max_retries);
    config.request_timeout = provider.request_timeout;
    config.concurrency = provider.concurrency;
    OktaClient::new(config)
}
