//! `orgsync export`: the catalog as Backstage entity YAML or JSON.
//!
//! The output is what a Backstage `file` or `url` location reads: one
//! document per entity, without the fields the catalog assigns itself
//! (`metadata.uid`, `metadata.etag`, `relations`).

use std::io::Write;

use orgsync_model::Entity;
use orgsync_store::{EntityQuery, Store};

use crate::cli::{ExportArgs, ExportFormat};
use crate::commands::{load_config, open_existing_store, unknown_provider};
use crate::exit;

/// Entities read from the store per query.
const PAGE_SIZE: usize = 5000;

pub async fn run(args: ExportArgs) -> u8 {
    let config = match load_config(&args.config.files) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let Some(wanted) = args.provider.as_deref() {
        if !config.providers.iter().any(|provider| provider.id == wanted) {
            return unknown_provider(&config, wanted);
        }
    }
    let store = match open_existing_store(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };

    let entities = match read_all(store.as_ref(), args.provider.as_deref()).await {
        Ok(entities) => entities,
        Err(error) => {
            eprintln!("error: reading the catalog failed: {error}");
            return exit::FAILURE;
        }
    };
    let text = match render(&entities, args.format) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: encoding the export failed: {error}");
            return exit::FAILURE;
        }
    };

    match write_output(args.output.as_deref(), &text) {
        Ok(()) => exit::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            exit::FAILURE
        }
    }
}

/// Reads every entity (of one provider, when given), page by page.
pub async fn read_all(
    store: &dyn Store,
    provider: Option<&str>,
) -> Result<Vec<Entity>, orgsync_store::StoreError> {
    let mut entities = Vec::new();
    loop {
        let query = EntityQuery {
            provider: provider.map(str::to_string),
            offset: entities.len(),
            limit: PAGE_SIZE,
            ..EntityQuery::default()
        };
        let page = store.list_entities(&query).await?;
        let done = page.len() < PAGE_SIZE;
        entities.extend(page);
        if done {
            return Ok(entities);
        }
    }
}

/// Renders entities for a Backstage location, dropping catalog-assigned fields.
pub fn render(entities: &[Entity], format: ExportFormat) -> Result<String, String> {
    let cleaned: Vec<Entity> = entities.iter().map(strip_catalog_fields).collect();
    match format {
        ExportFormat::Json => {
            serde_json::to_string_pretty(&cleaned).map_err(|error| error.to_string())
        }
        ExportFormat::Yaml => {
            let mut text = String::new();
            for entity in &cleaned {
                let document =
                    serde_yaml_ng::to_string(entity).map_err(|error| error.to_string())?;
                text.push_str("---\n");
                text.push_str(&document);
            }
            Ok(text)
        }
    }
}

fn strip_catalog_fields(entity: &Entity) -> Entity {
    let mut entity = entity.clone();
    entity.metadata.uid = None;
    entity.metadata.etag = None;
    entity.relations.clear();
    entity
}

fn write_output(path: Option<&std::path::Path>, text: &str) -> Result<(), String> {
    match path {
        Some(path) => std::fs::write(path, text)
            .map_err(|error| format!("writing {} failed: {error}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A reader such as `head` closes the pipe when it has read
                // enough, so the rest of the export is not wanted.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                result => result.map_err(|error| format!("writing to stdout failed: {error}")),
            }
        }
    }
}
