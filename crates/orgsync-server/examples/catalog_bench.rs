//! Serves a SQLite catalog of generated users and groups, for load tests
//! of the catalog API (see `bench/run.sh` in this crate).
//!
//! Usage:
//!   catalog_bench --database PATH [--users N] [--groups N] [--listen ADDR]
//!
//! When the database has no entities of the `bench` provider, it is filled
//! with `--users` users (default 90,000) and `--groups` groups (default
//! 10,000) first. Each user belongs to three groups, and groups form a
//! tree. The server then listens (default 127.0.0.1:0), prints
//! `orgsync is serving http://ADDRESS` and runs until Ctrl-C. No provider
//! is scheduled, so the catalog does not change while it is measured.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use orgsync_model::{Entity, EntityMetadata};
use orgsync_server::catalog::StoreCatalog;
use orgsync_server::{ServeOptions, ServerBuilder};
use orgsync_store::{EntityQuery, SqliteStore, Store};
use serde_json::json;

const PROVIDER: &str = "bench";

struct Args {
    database: String,
    users: usize,
    groups: usize,
    listen: SocketAddr,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        database: String::new(),
        users: 90_000,
        groups: 10_000,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag} {value:?} is not a number"))
        };
        match flag.as_str() {
            "--database" => args.database = value.clone(),
            "--users" => args.users = number()?,
            "--groups" => args.groups = number()?,
            "--listen" => {
                args.listen = value
                    .parse()
                    .map_err(|_| format!("--listen {value:?} is not host:port"))?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if args.database.is_empty() {
        return Err("--database PATH is required".to_string());
    }
    if args.groups == 0 {
        return Err("--groups must be at least 1".to_string());
    }
    Ok(args)
}

fn entity(kind: &str, name: &str, spec: serde_json::Value) -> Entity {
    Entity {
        api_version: "backstage.io/v1alpha1".to_string(),
        kind: kind.to_string(),
        metadata: EntityMetadata {
            name: name.to_string(),
            namespace: "default".to_string(),
            ..EntityMetadata::default()
        },
        spec,
        relations: Vec::new(),
    }
}

/// Names group `index`.
fn group_name(index: usize) -> String {
    format!("team-{index:05}")
}

/// Builds the users and groups; the same counts always give the same
/// entities.
fn generate(users: usize, groups: usize) -> Vec<Entity> {
    let mut entities = Vec::with_capacity(users + groups);
    for index in 0..groups {
        let parent = (index > 0).then(|| format!("group:default/{}", group_name((index - 1) / 10)));
        let children: Vec<String> = (index * 10 + 1..(index * 10 + 11).min(groups))
            .map(|child| format!("group:default/{}", group_name(child)))
            .collect();
        let mut spec = json!({
            "type": if index < groups / 10 { "department" } else { "team" },
            "profile": {"displayName": format!("Team {index}")},
            "children": children,
        });
        if let Some(parent) = parent {
            spec["parent"] = json!(parent);
        }
        entities.push(entity("Group", &group_name(index), spec));
    }

    // A fixed linear congruential sequence spreads users over groups.
    let mut state: u64 = 0x5DEECE66D;
    let mut next_group = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        usize::try_from(state >> 33).unwrap_or(0) % groups
    };
    for index in 0..users {
        let name = format!("user-{index:06}");
        let member_of: Vec<String> = (0..3)
            .map(|_| format!("group:default/{}", group_name(next_group())))
            .collect();
        let spec = json!({
            "profile": {
                "displayName": format!("User {index}"),
                "email": format!("{name}@example.com"),
            },
            "memberOf": member_of,
        });
        entities.push(entity("User", &name, spec));
    }
    entities
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = run(args).await {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&args.database)
            .await
            .map_err(|error| format!("opening {}: {error}", args.database))?,
    );

    let query = EntityQuery {
        provider: Some(PROVIDER.to_string()),
        ..EntityQuery::default()
    };
    let existing = store
        .count_entities(&query)
        .await
        .map_err(|error| error.to_string())?;
    if existing == 0 {
        let started = Instant::now();
        let entities = generate(args.users, args.groups);
        store
            .replace_provider_entities(PROVIDER, &entities)
            .await
            .map_err(|error| format!("writing the entities: {error}"))?;
        eprintln!(
            "wrote {} entities in {:.1?}",
            entities.len(),
            started.elapsed()
        );
    } else {
        eprintln!("the database already has {existing} entities of provider {PROVIDER}");
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|error| format!("listening on {}: {error}", args.listen))?;
    let catalog = Arc::new(StoreCatalog::new(Arc::clone(&store)));
    let server = ServerBuilder::new(store, catalog)
        .options(ServeOptions::default())
        .build();
    let running = server
        .start(Vec::new(), listener)
        .await
        .map_err(|error| error.to_string())?;
    println!("orgsync is serving http://{}", running.local_addr());

    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await.map_err(|error| error.to_string())
}
