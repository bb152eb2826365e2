//! The SQLite store's catalog queries return the same results as the
//! in-memory reader, whose semantics the unit tests pin down: the same
//! entities are written to SQLite, read back (with the uid, etag and
//! relations the store assigns), loaded into a `MemoryCatalog`, and a
//! table of filters, orders, full-text filters, pages and facets is asked
//! of both.

use std::sync::Arc;

use orgsync_model::{Entity, EntityMetadata};
use orgsync_server::catalog::query::{
    EntityFilter, EntityPageQuery, FilterCondition, FullTextFilter, OrderField, PagePosition,
    SortOrder,
};
use orgsync_server::catalog::{CatalogReader, MemoryCatalog, StoreCatalog};
use orgsync_store::{EntityQuery, SqliteStore, Store};
use serde_json::json;

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

/// 40 users and 8 groups. Some users have no display name (missing sort
/// values), emails mix case, and names share prefixes.
fn entities() -> Vec<Entity> {
    let mut entities = Vec::new();
    for index in 0..8 {
        let parent = if index == 0 {
            json!(null)
        } else {
            json!("group:default/g0")
        };
        entities.push(entity(
            "Group",
            &format!("g{index}"),
            json!({"type": if index < 2 { "department" } else { "team" }, "parent": parent, "children": []}),
        ));
    }
    for index in 0..40 {
        let mut profile = json!({"email": format!("User{index}@Example.{}", if index % 3 == 0 { "org" } else { "com" })});
        if index % 4 != 0 {
            profile["displayName"] = json!(format!("Person {:02}", (index * 7) % 40));
        }
        let groups: Vec<String> = (0..(index % 3))
            .map(|offset| format!("group:default/g{}", (index + offset) % 8))
            .collect();
        entities.push(entity(
            "User",
            &format!("user-{index}"),
            json!({"profile": profile, "memberOf": groups}),
        ));
    }
    entities
}

async fn readers() -> (StoreCatalog, MemoryCatalog, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.sqlite");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
    store
        .replace_provider_entities("test", &entities())
        .await
        .unwrap();
    let stored = store.list_entities(&EntityQuery::default()).await.unwrap();
    (StoreCatalog::new(store), MemoryCatalog::new(stored), dir)
}

fn condition(key: &str, values: Option<&[&str]>) -> FilterCondition {
    FilterCondition {
        key: key.to_string(),
        values: values.map(|values| values.iter().map(|value| value.to_string()).collect()),
    }
}

fn filters() -> Vec<Option<EntityFilter>> {
    vec![
        None,
        Some(EntityFilter {
            any_of: vec![vec![condition("kind", Some(&["user"]))]],
        }),
        Some(EntityFilter {
            any_of: vec![
                vec![
                    condition("kind", Some(&["group"])),
                    condition("spec.type", Some(&["team"])),
                ],
                vec![condition("relations.memberof", Some(&["group:default/g3"]))],
            ],
        }),
        Some(EntityFilter {
            any_of: vec![vec![condition("spec.profile.displayname", None)]],
        }),
        Some(EntityFilter {
            any_of: vec![vec![condition(
                "spec.profile.email",
                Some(&["user3@example.org", "user7@example.com"]),
            )]],
        }),
    ]
}

fn orders() -> Vec<Option<OrderField>> {
    let field = |name: &str, order| {
        Some(OrderField {
            field: name.to_string(),
            order,
        })
    };
    vec![
        None,
        field("metadata.name", SortOrder::Asc),
        field("spec.profile.displayname", SortOrder::Asc),
        field("spec.profile.displayname", SortOrder::Desc),
        field("relations.memberof", SortOrder::Desc),
    ]
}

/// Collects every ref of a query, walking forward from the start in pages of 7,
/// then backward from the last one (which the backward walk adds last).
async fn walk(
    reader: &dyn CatalogReader,
    base: &EntityPageQuery,
) -> (Vec<String>, Vec<String>, usize) {
    let mut forward = Vec::new();
    let mut after: Option<PagePosition> = None;
    let mut total = 0;
    loop {
        let query = EntityPageQuery {
            after: after.clone(),
            limit: 7,
            count_total: after.is_none(),
            ..base.clone()
        };
        let page = reader.query_entities(&query).await.unwrap();
        if let Some(count) = page.total {
            total = count;
        }
        let Some(last) = page.items.last() else { break };
        after = Some(last.position.clone());
        forward.extend(
            page.items
                .iter()
                .map(|item| item.position.entity_ref.clone()),
        );
    }

    let mut backward: Vec<String> = forward.last().cloned().into_iter().collect();
    let mut before = after;
    while let Some(position) = before {
        let query = EntityPageQuery {
            after: Some(position),
            backward: true,
            limit: 7,
            ..base.clone()
        };
        let page = reader.query_entities(&query).await.unwrap();
        let refs: Vec<String> = page
            .items
            .iter()
            .map(|item| item.position.entity_ref.clone())
            .collect();
        before = page.items.first().map(|item| item.position.clone());
        let mut combined = refs;
        combined.extend(backward);
        backward = combined;
    }
    (forward, backward, total)
}

#[tokio::test]
async fn queries_match_memory_reader() {
    let (sqlite, memory, _dir) = readers().await;
    let full_texts = [
        None,
        Some(FullTextFilter {
            term: "person 1".to_string(),
            fields: vec!["spec.profile.displayname".to_string()],
        }),
        Some(FullTextFilter {
            term: "example.org".to_string(),
            fields: vec![
                "spec.profile.email".to_string(),
                "metadata.name".to_string(),
            ],
        }),
    ];

    for filter in filters() {
        for order in orders() {
            for full_text in &full_texts {
                let base = EntityPageQuery {
                    filter: filter.clone(),
                    order: order.clone(),
                    full_text: full_text.clone(),
                    ..EntityPageQuery::default()
                };
                let from_sqlite = walk(&sqlite, &base).await;
                let from_memory = walk(&memory, &base).await;
                assert_eq!(from_sqlite, from_memory, "query {base:?}");
                assert_eq!(
                    from_sqlite.0, from_sqlite.1,
                    "backward walk differs for {base:?}"
                );
                assert_eq!(
                    from_sqlite.2,
                    from_sqlite.0.len(),
                    "total differs for {base:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn sort_values_match_memory_reader() {
    let (sqlite, memory, _dir) = readers().await;
    for order in orders() {
        let query = EntityPageQuery {
            order,
            limit: 1000,
            ..EntityPageQuery::default()
        };
        let positions = |page: orgsync_server::catalog::query::EntityPage| {
            page.items
                .into_iter()
                .map(|item| item.position)
                .collect::<Vec<_>>()
        };
        let from_sqlite = positions(sqlite.query_entities(&query).await.unwrap());
        let from_memory = positions(memory.query_entities(&query).await.unwrap());
        assert_eq!(from_sqlite, from_memory, "order {:?}", query.order);
    }
}

#[tokio::test]
async fn offset_matches_memory_reader() {
    let (sqlite, memory, _dir) = readers().await;
    let query = EntityPageQuery {
        offset: 11,
        limit: 5,
        order: orders()[2].clone(),
        ..EntityPageQuery::default()
    };
    let refs = |page: orgsync_server::catalog::query::EntityPage| {
        page.items
            .into_iter()
            .map(|item| item.position.entity_ref)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        refs(sqlite.query_entities(&query).await.unwrap()),
        refs(memory.query_entities(&query).await.unwrap())
    );
}

#[tokio::test]
async fn facets_match_memory_reader() {
    let (sqlite, memory, _dir) = readers().await;
    let facets: Vec<String> = [
        "kind",
        "spec.type",
        "relations.memberof",
        "spec.profile.email",
        "metadata.missing",
    ]
    .iter()
    .map(|facet| facet.to_string())
    .collect();
    for filter in filters() {
        let from_sqlite = sqlite
            .entity_facets(&facets, filter.as_ref())
            .await
            .unwrap();
        let from_memory = memory
            .entity_facets(&facets, filter.as_ref())
            .await
            .unwrap();
        assert_eq!(from_sqlite, from_memory, "filter {filter:?}");
    }
}

#[tokio::test]
async fn lookups_match_memory_reader() {
    let (sqlite, memory, _dir) = readers().await;
    let refs: Vec<String> = [
        "group:default/g1",
        "user:default/nobody",
        "USER:default/User-5",
        "not a ref",
    ]
    .iter()
    .map(|entity_ref| entity_ref.to_string())
    .collect();
    assert_eq!(
        sqlite.entities_by_refs(&refs, None).await.unwrap(),
        memory.entities_by_refs(&refs, None).await.unwrap()
    );
    let groups_only = filters()[2].clone();
    assert_eq!(
        sqlite
            .entities_by_refs(&refs, groups_only.as_ref())
            .await
            .unwrap(),
        memory
            .entities_by_refs(&refs, groups_only.as_ref())
            .await
            .unwrap()
    );

    let user = sqlite
        .entity_by_ref("user:default/user-5")
        .await
        .unwrap()
        .unwrap();
    let uid = user.metadata.uid.clone().unwrap();
    assert_eq!(
        sqlite.entity_by_uid(&uid).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(memory.entity_by_uid(&uid).await.unwrap(), Some(user));
    assert_eq!(sqlite.entity_by_uid("no-such-uid").await.unwrap(), None);
    sqlite.check_ready().await.unwrap();
}
