//! `orgsync check`: validate the config without contacting Okta.

use orgsync_config::{DatabaseClient, Frequency};

use crate::cli::CheckArgs;
use crate::commands::load_config;
use crate::exit;

pub async fn run(args: CheckArgs) -> u8 {
    let config = match load_config(&args.config.files) {
        Ok(config) => config,
        Err(code) => return code,
    };

    let database = match config.database.client {
        DatabaseClient::Sqlite => "SQLite",
        DatabaseClient::Postgres => "PostgreSQL",
    };
    println!(
        "config is valid: {database} catalog, {} Okta provider(s)",
        config.providers.len()
    );
    for provider in &config.providers {
        let frequency = match &provider.schedule.frequency {
            Frequency::Every(every) => format!("every {} s", every.as_secs()),
            Frequency::Cron(pattern) => format!("cron {pattern:?}"),
        };
        println!(
            "  {}: {} from {}, {frequency}, timeout {} s",
            provider.id,
            provider.okta_url,
            provider.source,
            provider.schedule.timeout.as_secs()
        );
    }
    exit::SUCCESS
}
