//! `orgsync doctor`: check each provider's Okta setup step by step and print
//! one line per check, colored on a terminal, or the reports as JSON.
//!
//! Exit codes: 0 when no check failed (warnings allowed), 1 when a check
//! failed, 2 when the config does not load (its errors are shown at the
//! checks they concern).

use std::collections::BTreeMap;

use clap::Args;
use console::{style, StyledObject};
use orgsync_config::{ConfigError, ConfigErrors, LoadedConfig, ProviderConfig};
use orgsync_doctor::{Check, DoctorOptions, Report, Status};
use serde_json::json;

use crate::cli::{ConfigArgs, OutputFormat};
use crate::exit;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Check only this provider id [default: every configured provider].
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,

    /// Output format: one line per check, or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub async fn run(args: DoctorArgs) -> u8 {
    match orgsync_config::load(&args.config.files) {
        Ok(loaded) => check_providers(&args, loaded).await,
        Err(errors) => report_invalid_config(&args, &errors),
    }
}

async fn check_providers(args: &DoctorArgs, loaded: LoadedConfig) -> u8 {
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let providers = match select(&loaded.config.providers, args.provider.as_deref()) {
        Ok(providers) => providers,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::CONFIG;
        }
    };

    let options = DoctorOptions::default();
    let mut reports = Vec::with_capacity(providers.len());
    for provider in providers {
        let report = orgsync_doctor::run_checks(provider, &options).await;
        if args.format == OutputFormat::Text {
            print_report(&report);
        }
        reports.push(report);
    }
    if args.format == OutputFormat::Json {
        print_json(&reports, &[]);
    }

    if reports.iter().any(Report::has_failures) {
        exit::FAILURE
    } else {
        exit::SUCCESS
    }
}

/// Returns the providers to check: all, or the one named `wanted`.
fn select<'a>(
    providers: &'a [ProviderConfig],
    wanted: Option<&str>,
) -> Result<Vec<&'a ProviderConfig>, String> {
    let Some(wanted) = wanted else {
        return Ok(providers.iter().collect());
    };
    match providers.iter().find(|provider| provider.id == wanted) {
        Some(provider) => Ok(vec![provider]),
        None => {
            let ids: Vec<&str> = providers
                .iter()
                .map(|provider| provider.id.as_str())
                .collect();
            Err(format!(
                "no provider `{wanted}` in the config; the configured ids are: {}",
                ids.join(", ")
            ))
        }
    }
}

/// Shows a config that did not load: errors outside providers as the
/// `check` command shows them, the rest as each provider's failed checks.
fn report_invalid_config(args: &DoctorArgs, errors: &ConfigErrors) -> u8 {
    let mut by_provider: BTreeMap<String, Vec<&ConfigError>> = BTreeMap::new();
    let mut general = Vec::new();
    for error in &errors.0 {
        match orgsync_doctor::provider_of(error) {
            Some(provider) => by_provider.entry(provider).or_default().push(error),
            None => general.push(error.to_string()),
        }
    }
    let reports: Vec<Report> = by_provider
        .iter()
        .filter(|(id, _)| {
            args.provider
                .as_deref()
                .is_none_or(|wanted| wanted == id.as_str())
        })
        .map(|(id, errors)| orgsync_doctor::report_config_errors(id, errors))
        .collect();

    match args.format {
        OutputFormat::Json => print_json(&reports, &general),
        OutputFormat::Text => {
            eprintln!("error: the config is invalid, so doctor contacted no Okta org:");
            for error in &general {
                eprintln!("  {error}");
            }
            for report in &reports {
                print_report(report);
            }
        }
    }
    exit::CONFIG
}

fn print_json(reports: &[Report], config_errors: &[String]) {
    let overall = if reports.iter().any(Report::has_failures) || !config_errors.is_empty() {
        Status::Fail
    } else if reports.iter().any(|report| report.status == Status::Warn) {
        Status::Warn
    } else {
        Status::Pass
    };
    let output = json!({
        "status": overall,
        "providers": reports,
        "configErrors": config_errors,
    });
    match serde_json::to_string_pretty(&output) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: encoding the reports as JSON failed: {error}"),
    }
}

/// Prints a report: a heading, one line per check with its finding (and
/// the fix indented below a warning or failure), and a count of each
/// status. Checks skipped for the same reason share one line, after the
/// others. The JSON output has each check's title as well.
fn print_report(report: &Report) {
    let url = report.okta_url.as_deref().unwrap_or("(no valid oktaUrl)");
    println!(
        "{} {}",
        style(format!("provider {}", report.provider)).bold(),
        url
    );
    let skipped = shared_skips(&report.checks);
    for check in &report.checks {
        let shared = skipped.iter().any(|(detail, _)| *detail == check.detail);
        if !(check.status == Status::Skip && shared) {
            print_check(check);
        }
    }
    for (detail, ids) in &skipped {
        print_skipped(detail, ids);
    }

    let count = |status| {
        report
            .checks
            .iter()
            .filter(|check| check.status == status)
            .count()
    };
    println!(
        "{}: {} passed, {} warned, {} failed, {} skipped\n",
        report.provider,
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Skip)
    );
}

fn print_check(check: &Check) {
    let mut lines = check.detail.lines();
    let first = lines.next().unwrap_or_default();
    println!(
        "  {} {} {first}",
        label(check.status),
        style(format!("{:<17}", check.id.as_str())).dim()
    );
    for line in lines {
        println!("         {line}");
    }
    if let Some(fix) = &check.fix {
        for (index, line) in fix.lines().enumerate() {
            let lead = if index == 0 { "fix:" } else { "    " };
            println!("         {} {line}", style(lead).cyan());
        }
    }
}

/// Returns the reasons shared by two or more skipped checks, each with the
/// ids of its checks, in report order.
fn shared_skips(checks: &[Check]) -> Vec<(&str, Vec<&'static str>)> {
    let mut reasons: Vec<(&str, Vec<&'static str>)> = Vec::new();
    for check in checks.iter().filter(|check| check.status == Status::Skip) {
        match reasons
            .iter_mut()
            .find(|(detail, _)| *detail == check.detail)
        {
            Some((_, ids)) => ids.push(check.id.as_str()),
            None => reasons.push((&check.detail, vec![check.id.as_str()])),
        }
    }
    reasons.retain(|(_, ids)| ids.len() > 1);
    reasons
}

/// Prints one line for checks skipped for the same reason, and their ids
/// indented below it.
fn print_skipped(detail: &str, ids: &[&str]) {
    println!(
        "  {} {} {detail}",
        label(Status::Skip),
        style(format!("{:<17}", format!("{} checks", ids.len()))).dim()
    );
    println!("         {}", ids.join(", "));
}

/// Returns the status as a fixed-width, colored label. `console` leaves
/// out the colors when stdout is not a terminal or `NO_COLOR` is set.
fn label(status: Status) -> StyledObject<&'static str> {
    match status {
        Status::Pass => style("pass").green(),
        Status::Warn => style("warn").yellow().bold(),
        Status::Fail => style("FAIL").red().bold(),
        Status::Skip => style("skip").dim(),
    }
}
