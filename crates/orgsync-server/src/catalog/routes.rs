//! The handlers under `/api/catalog`, answering as Backstage's catalog
//! backend does, so that `@backstage/catalog-client` and Backstage's
//! frontend can read orgsync's catalog directly.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::Method;
use orgsync_model::Entity;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::cursor::{Cursor, QueryState};
use super::fields::project;
use super::params::{
    parse_facets, parse_fields, parse_filter, parse_full_text, parse_legacy_order,
    parse_order_fields, QueryParams,
};
use super::query::{EntityPage, EntityPageQuery, PageItem};
use super::reader::CatalogReader;
use crate::error::{store_failure, ApiError};
use crate::routes::RouteList;

/// The page size of `by-query` when the request gives no `limit`, as in
/// Backstage's catalog backend.
pub const DEFAULT_QUERY_LIMIT: usize = 200;

/// The catalog routes.
pub fn routes() -> RouteList<Arc<dyn CatalogReader>> {
    RouteList::new()
        .route(Method::GET, "/api/catalog/entities", get(list_entities))
        .route(
            Method::GET,
            "/api/catalog/entities/by-query",
            get(query_entities),
        )
        .route(
            Method::GET,
            "/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
            get(entity_by_name),
        )
        .route(
            Method::GET,
            "/api/catalog/entities/by-uid/{uid}",
            get(entity_by_uid),
        )
        .route(
            Method::POST,
            "/api/catalog/entities/by-refs",
            post(entities_by_refs),
        )
        .route(
            Method::GET,
            "/api/catalog/entity-facets",
            get(entity_facets),
        )
}

/// Serializes an entity, keeping only `fields` when given.
fn render(entity: &Entity, fields: Option<&[String]>) -> Value {
    let value = serde_json::to_value(entity).unwrap_or(Value::Null);
    match fields {
        Some(fields) => project(&value, fields),
        None => value,
    }
}

/// `GET /entities/by-query`: a page of entities with `totalItems` and
/// cursors to the next and previous pages.
async fn query_entities(
    State(catalog): State<Arc<dyn CatalogReader>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let fields = parse_fields(&params)?;
    let limit = params.integer("limit")?.unwrap_or(DEFAULT_QUERY_LIMIT);

    let cursor = params.single("cursor")?.map(Cursor::decode).transpose()?;
    let (state, offset) = match &cursor {
        Some(cursor) => (cursor.query(), 0),
        None => {
            let order = parse_order_fields(&params)?;
            let state = QueryState {
                filter: parse_filter(&params)?,
                full_text: parse_full_text(&params, order.as_ref())?,
                order,
            };
            (state, params.integer("offset")?.unwrap_or(0))
        }
    };

    let backward = cursor.as_ref().is_some_and(|cursor| cursor.backward);
    let query = EntityPageQuery {
        filter: state.filter.clone(),
        order: state.order.clone(),
        full_text: state.full_text.clone(),
        after: cursor.as_ref().map(|cursor| cursor.position.clone()),
        backward,
        offset,
        // One more than the page tells whether another page follows.
        limit: limit.saturating_add(1),
        count_total: cursor.is_none(),
    };
    let page = catalog
        .query_entities(&query)
        .await
        .map_err(|error| store_failure("querying entities", &error))?;

    let body = query_response(state, cursor.as_ref(), page, limit, fields.as_deref());
    Ok(Json(body))
}

/// Builds the `by-query` response from a page fetched with one extra item.
fn query_response(
    state: QueryState,
    cursor: Option<&Cursor>,
    page: EntityPage,
    limit: usize,
    fields: Option<&[String]>,
) -> Value {
    let total = cursor.map_or(page.total.unwrap_or(0), |cursor| cursor.total_items);
    let backward = cursor.is_some_and(|cursor| cursor.backward);
    let mut items: Vec<PageItem> = page.items;
    let has_extra = items.len() > limit;
    if has_extra {
        // A backward page arrives in forward order, so its extra item is
        // the first one.
        if backward {
            items.remove(0);
        } else {
            items.truncate(limit);
        }
    }

    let mut page_info = Map::new();
    if let (Some(first_item), Some(last_item)) = (items.first(), items.last()) {
        let first_of_result =
            cursor.map_or(first_item.position.clone(), |cursor| cursor.first.clone());
        let has_next = if backward { true } else { has_extra };
        let has_prev = match cursor {
            None => false,
            Some(_) if backward => has_extra,
            Some(_) => first_item.position != first_of_result,
        };
        if has_next {
            let next = Cursor::new(
                state.clone(),
                last_item.position.clone(),
                false,
                first_of_result.clone(),
                total,
            );
            page_info.insert("nextCursor".to_string(), Value::String(next.encode()));
        }
        if has_prev {
            let prev = Cursor::new(
                state,
                first_item.position.clone(),
                true,
                first_of_result,
                total,
            );
            page_info.insert("prevCursor".to_string(), Value::String(prev.encode()));
        }
    }

    let rendered: Vec<Value> = items
        .iter()
        .map(|item| render(&item.entity, fields))
        .collect();
    json!({ "items": rendered, "totalItems": total, "pageInfo": page_info })
}

/// The `after` cursor of the legacy `GET /entities`: base64 of
/// `{"limit":…,"offset":…}`, the format Backstage uses.
#[derive(Debug, serde::Serialize, Deserialize)]
struct LegacyCursor {
    limit: usize,
    offset: usize,
}

/// `GET /entities`: the legacy list, unpaged unless `limit` is given, with
/// a `Link` header to the next page.
async fn list_entities(
    State(catalog): State<Arc<dyn CatalogReader>>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let fields = parse_fields(&params)?;
    let (limit, offset) = legacy_page(&params)?;

    let query = EntityPageQuery {
        filter: parse_filter(&params)?,
        order: parse_legacy_order(&params)?,
        offset,
        limit: limit.map_or(usize::MAX, |limit| limit.saturating_add(1)),
        ..EntityPageQuery::default()
    };
    let mut items = catalog
        .query_entities(&query)
        .await
        .map_err(|error| store_failure("listing entities", &error))?
        .items;

    let mut link = None;
    if let Some(limit) = limit {
        if items.len() > limit {
            items.truncate(limit);
            let next = LegacyCursor {
                limit,
                offset: offset + limit,
            };
            link = Some(next_link(uri.path(), &params, &next));
        }
    }

    let rendered: Vec<Value> = items
        .iter()
        .map(|item| render(&item.entity, fields.as_deref()))
        .collect();
    let mut response = Json(rendered).into_response();
    if let Some(link) = link.and_then(|link| http::HeaderValue::from_str(&link).ok()) {
        response.headers_mut().insert(http::header::LINK, link);
    }
    Ok(response)
}

/// Reads `limit`, `offset` and `after`; `after` overrides the other two.
fn legacy_page(params: &QueryParams) -> Result<(Option<usize>, usize), ApiError> {
    let mut limit = params.integer("limit")?;
    let mut offset = params.integer("offset")?.unwrap_or(0);
    if let Some(after) = params.single("after")? {
        let malformed = || {
            ApiError::Input(
                "Malformed after cursor, could not be parsed; pass the after value of a Link \
                 header unchanged"
                    .to_string(),
            )
        };
        let bytes = STANDARD.decode(after.trim()).map_err(|_| malformed())?;
        let cursor: LegacyCursor = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        limit = Some(cursor.limit);
        offset = cursor.offset;
    }
    Ok((limit, offset))
}

/// The `Link` header value pointing at the next page: the same query with
/// `offset` dropped and `after` set.
fn next_link(path: &str, params: &QueryParams, next: &LegacyCursor) -> String {
    let after = STANDARD.encode(serde_json::to_vec(next).unwrap_or_default());
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.pairs() {
        if name != "offset" && name != "after" {
            query.append_pair(name, value);
        }
    }
    query.append_pair("after", &after);
    format!("<{path}?{}>; rel=\"next\"", query.finish())
}

/// `GET /entities/by-name/{kind}/{namespace}/{name}`.
async fn entity_by_name(
    State(catalog): State<Arc<dyn CatalogReader>>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let fields = parse_fields(&QueryParams::parse(raw.as_deref()))?;
    let entity_ref = format!("{kind}:{namespace}/{name}");
    let entity = catalog
        .entity_by_ref(&entity_ref)
        .await
        .map_err(|error| store_failure("reading an entity by name", &error))?;
    match entity {
        Some(entity) => Ok(Json(render(&entity, fields.as_deref()))),
        None => Err(ApiError::NotFound(format!(
            "No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
        ))),
    }
}

/// `GET /entities/by-uid/{uid}`.
async fn entity_by_uid(
    State(catalog): State<Arc<dyn CatalogReader>>,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let fields = parse_fields(&QueryParams::parse(raw.as_deref()))?;
    let entity = catalog
        .entity_by_uid(&uid)
        .await
        .map_err(|error| store_failure("reading an entity by uid", &error))?;
    match entity {
        Some(entity) => Ok(Json(render(&entity, fields.as_deref()))),
        None => Err(ApiError::NotFound(format!("No entity with uid {uid}"))),
    }
}

/// The body of `POST /entities/by-refs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ByRefsRequest {
    entity_refs: Vec<String>,
    #[serde(default)]
    fields: Option<Vec<String>>,
}

/// `POST /entities/by-refs`: `{ items }` with one entity or `null` per
/// requested ref, in request order. A `filter` in the query string turns
/// entities that do not match it into `null`, as in Backstage.
async fn entities_by_refs(
    State(catalog): State<Arc<dyn CatalogReader>>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: ByRefsRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::Input(format!(
            "Invalid request body: {error}; send {{\"entityRefs\": [\"user:default/name\"], \"fields\": [\"metadata.name\"]}}"
        ))
    })?;
    let params = QueryParams::parse(raw.as_deref());
    let filter = parse_filter(&params)?;
    let mut fields = parse_fields(&params)?.unwrap_or_default();
    fields.extend(request.fields.unwrap_or_default());
    let fields = (!fields.is_empty()).then_some(fields);

    let entities = catalog
        .entities_by_refs(&request.entity_refs, filter.as_ref())
        .await
        .map_err(|error| store_failure("reading entities by ref", &error))?;
    let items: Vec<Value> = entities
        .iter()
        .map(|entity| {
            entity
                .as_ref()
                .map_or(Value::Null, |entity| render(entity, fields.as_deref()))
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /entity-facets`: `{ facets: { <facet>: [{ value, count }] } }`.
async fn entity_facets(
    State(catalog): State<Arc<dyn CatalogReader>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let facets = parse_facets(&params)?;
    let filter = parse_filter(&params)?;

    let keys: Vec<String> = facets.iter().map(|facet| facet.to_lowercase()).collect();
    let counts = catalog
        .entity_facets(&keys, filter.as_ref())
        .await
        .map_err(|error| store_failure("counting entity facets", &error))?;

    let mut body = BTreeMap::new();
    for (facet, key) in facets.iter().zip(&keys) {
        let values = counts.get(key).cloned().unwrap_or_default();
        body.insert(facet.clone(), values);
    }
    Ok(Json(json!({ "facets": body })))
}
