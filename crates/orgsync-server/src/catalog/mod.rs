//! The Backstage-compatible catalog API under `/api/catalog`.
//!
//! - [`params`]: query-string parsing (`filter`, `fields`, `orderField`, …);
//! - [`query`]: the store-facing query types and the entity order;
//! - [`cursor`]: the opaque `by-query` cursors;
//! - [`fields`]: projecting entities onto the requested `fields`;
//! - [`reader`]: the [`CatalogReader`] trait the handlers read through;
//! - [`memory`]: an in-memory [`CatalogReader`] for tests;
//! - [`store`]: the [`CatalogReader`] over the real catalog store;
//! - [`routes`]: the handlers.

pub mod cursor;
pub mod fields;
pub mod memory;
pub mod params;
pub mod query;
pub mod reader;
pub mod routes;
pub mod store;

pub use memory::MemoryCatalog;
pub use reader::CatalogReader;
pub use routes::routes;
pub use store::StoreCatalog;

#[cfg(test)]
mod tests;
