//! The store-facing query types of the catalog API, defined by
//! `orgsync-store` so that every store implements the same semantics:
//! Backstage's filter (any of the groups, each group all of its
//! conditions), one order field with missing values last and refs as the
//! tie-break, keyset positions, and facet counts.

pub use orgsync_store::query::{
    compare_positions, EntityFilter, EntityPage, EntityPageQuery, FacetCount, FilterCondition,
    FullTextFilter, OrderField, PageItem, PagePosition, SortOrder,
};
