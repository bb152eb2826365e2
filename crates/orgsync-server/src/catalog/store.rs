//! [`StoreCatalog`]: the [`CatalogReader`] over the real catalog store.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use orgsync_model::Entity;
use orgsync_store::{Store, StoreError};

use super::query::{EntityFilter, EntityPage, EntityPageQuery, FacetCount};
use super::reader::CatalogReader;

/// Reads the catalog API's queries from a [`Store`].
pub struct StoreCatalog {
    store: Arc<dyn Store>,
}

impl StoreCatalog {
    /// Creates a reader over `store`.
    pub fn new(store: Arc<dyn Store>) -> StoreCatalog {
        StoreCatalog { store }
    }
}

#[async_trait]
impl CatalogReader for StoreCatalog {
    async fn query_entities(&self, query: &EntityPageQuery) -> Result<EntityPage, StoreError> {
        self.store.query_entities(query).await
    }

    async fn entity_by_ref(&self, entity_ref: &str) -> Result<Option<Entity>, StoreError> {
        self.store.entity_by_ref(entity_ref).await
    }

    async fn entity_by_uid(&self, uid: &str) -> Result<Option<Entity>, StoreError> {
        self.store.entity_by_uid(uid).await
    }

    async fn entities_by_refs(
        &self,
        entity_refs: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<Vec<Option<Entity>>, StoreError> {
        self.store.entities_by_refs(entity_refs, filter).await
    }

    async fn entity_facets(
        &self,
        facets: &[String],
        filter: Option<&EntityFilter>,
    ) -> Result<BTreeMap<String, Vec<FacetCount>>, StoreError> {
        self.store.entity_facets(facets, filter).await
    }

    async fn check_ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }
}
