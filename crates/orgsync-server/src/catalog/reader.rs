//! [`CatalogReader`]: the reads the catalog API makes, behind one small
//! trait, so that the handlers can be tested on [`MemoryCatalog`](super::MemoryCatalog)
//! and served from the real store.

use std::collections::BTreeMap;

use async_trait::async_trait;
use orgsync_model::Entity;
use orgsync_store::StoreError;

use super::query::{EntityFilter, EntityPage, EntityPageQuery, FacetCount};

/// The catalog reads behind `/api/catalog`.
#[async_trait]
pub trait CatalogReader: Send + Sync {
    /// One page of the entities that match `query`, in the query's order.
    async fn query_entities(&self, query: &EntityPageQuery) -> Result<EntityPage, StoreError>;

    /// One entity by ref (`kind:namespace/name`, case-insensitive).
    async fn entity_by_ref(&self, entity_ref: &str) -> Result<Option<Entity>, StoreError>;

    /// One entity by `metadata.uid`.
    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, StoreError>;

    /// The entities with the given refs, in the same order; `None` for refs
    /// that name no entity, do not parse, or name an entity that does not
    /// match `filter`.
    async fn entities_by_refs(
        &self,
        entity_refs: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<Vec<Option<Entity>>, StoreError>;

    /// For each lower-cased facet key, how many of the entities that match
    /// `filter` have each value under it. Keys with no values map to an
    /// empty list.
    async fn entity_facets(
        &self,
        facets: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<BTreeMap<String, Vec<FacetCount>>, StoreError>;

    /// Checks that the database answers.
    async fn check_ready(&self) -> Result<(), StoreError>;
}
