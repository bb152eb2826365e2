//! Query-string parameters of the catalog API, parsed as Backstage's
//! catalog backend parses them.
//!
//! Parameters can repeat (`filter=a&filter=b`), which axum's `Query`
//! extractor does not keep, so the raw query string is decoded here.

use super::query::{EntityFilter, FilterCondition, FullTextFilter, OrderField, SortOrder};
use crate::error::ApiError;

/// The decoded `name=value` pairs of a query string, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a raw query string (without the `?`).
    pub fn parse(query: Option<&str>) -> QueryParams {
        let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        QueryParams { pairs }
    }

    /// Every `(name, value)` pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The value of a parameter that may be given at most once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.all(name).as_slice() {
            [] => Ok(None),
            [value] => Ok(Some(value)),
            _ => Err(ApiError::Input(format!(
                "Invalid {name}, it was given more than once; pass a single {name} parameter"
            ))),
        }
    }

    /// A non-negative integer parameter.
    pub fn integer(&self, name: &str) -> Result<Option<usize>, ApiError> {
        let Some(text) = self.single(name)? else {
            return Ok(None);
        };
        text.trim().parse::<usize>().map(Some).map_err(|_| {
            ApiError::Input(format!(
                "Invalid {name} {text:?}, expected a non-negative integer"
            ))
        })
    }
}

/// Parses the `filter` parameters: each one is a comma-separated list of
/// `key=value` (the key has that value) or `key` (the key exists)
/// statements that must all hold. Statements on the same key within one
/// parameter accept any of their values. Separate parameters are
/// alternatives. Keys and values are compared case-insensitively, so both
/// are lower-cased here.
pub fn parse_filter(params: &QueryParams) -> Result<Option<EntityFilter>, ApiError> {
    let mut any_of = Vec::new();
    for text in params.all("filter") {
        if let Some(group) = parse_filter_group(text)? {
            any_of.push(group);
        }
    }
    Ok((!any_of.is_empty()).then_some(EntityFilter { any_of }))
}

fn parse_filter_group(text: &str) -> Result<Option<Vec<FilterCondition>>, ApiError> {
    let mut group: Vec<FilterCondition> = Vec::new();
    for statement in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let (key, value) = match statement.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim())),
            None => (statement, None),
        };
        if key.is_empty() {
            return Err(ApiError::Input(format!(
                "Invalid filter, '{statement}' is not a valid statement \
                 (expected a string on the form a=b or a= or a)"
            )));
        }

        let key = key.to_lowercase();
        let index = match group.iter().position(|condition| condition.key == key) {
            Some(index) => index,
            None => {
                group.push(FilterCondition { key, values: None });
                group.len() - 1
            }
        };
        if let Some(value) = value {
            group[index]
                .values
                .get_or_insert_with(Vec::new)
                .push(value.to_lowercase());
        }
    }
    Ok((!group.is_empty()).then_some(group))
}

/// Parses `fields` parameters (comma-separated dotted paths, repeatable)
/// into the list of fields to keep; `None` keeps whole entities.
pub fn parse_fields(params: &QueryParams) -> Result<Option<Vec<String>>, ApiError> {
    let fields: Vec<String> = params
        .all("fields")
        .into_iter()
        .flat_map(|text| text.split(','))
        .map(str::trim)
        .filter(|field| !field.is_empty())
        .map(str::to_string)
        .collect();
    if fields.iter().any(|field| field.contains('[')) {
        return Err(ApiError::Input(
            "Invalid fields, array type fields are not supported; name whole lists, such as spec.memberOf"
                .to_string(),
        ));
    }
    Ok((!fields.is_empty()).then_some(fields))
}

/// Parses `orderField=field,asc` parameters of `by-query`. Only the first
/// field orders the result, as in Backstage; later ones are ignored.
pub fn parse_order_fields(params: &QueryParams) -> Result<Option<OrderField>, ApiError> {
    let mut fields = Vec::new();
    for text in params.all("orderField") {
        let (field, order) = match text.split_once(',') {
            Some((field, order)) => (field.trim(), Some(order.trim())),
            None => (text.trim(), None),
        };
        fields.push(order_field(field, order, "orderField")?);
    }
    if fields.len() > 1 {
        tracing::debug!(count = fields.len(), "only the first orderField is used");
    }
    Ok(fields.into_iter().next())
}

/// Parses the legacy `/entities` `order=asc:field` parameters; only the
/// first one is used.
pub fn parse_legacy_order(params: &QueryParams) -> Result<Option<OrderField>, ApiError> {
    let Some(text) = params.all("order").into_iter().next() else {
        return Ok(None);
    };
    match text.split_once(':') {
        Some((order, field)) => order_field(field.trim(), Some(order.trim()), "order"),
        None => Err(ApiError::Input(format!(
            "Invalid order {text:?}, expected asc:<field> or desc:<field>"
        ))),
    }
    .map(Some)
}

fn order_field(field: &str, order: Option<&str>, name: &str) -> Result<OrderField, ApiError> {
    if field.is_empty() {
        return Err(ApiError::Input(format!(
            "Invalid {name}, the field is empty; write a dotted path such as metadata.name"
        )));
    }
    let order = match order {
        None | Some("asc") => SortOrder::Asc,
        Some("desc") => SortOrder::Desc,
        Some(other) => {
            return Err(ApiError::Input(format!(
                "Invalid {name} order {other:?}, must be asc or desc"
            )))
        }
    };
    Ok(OrderField {
        field: field.to_lowercase(),
        order,
    })
}

/// Parses `fullTextFilterTerm` and `fullTextFilterFields`. Without fields,
/// the term is matched against the order field, or `metadata.uid` when
/// there is none, as in Backstage.
pub fn parse_full_text(
    params: &QueryParams,
    order: Option<&OrderField>,
) -> Result<Option<FullTextFilter>, ApiError> {
    let term = params
        .single("fullTextFilterTerm")?
        .map(|term| term.trim().to_lowercase())
        .unwrap_or_default();
    if term.is_empty() {
        return Ok(None);
    }

    let mut fields: Vec<String> = params
        .all("fullTextFilterFields")
        .into_iter()
        .flat_map(|text| text.split(','))
        .map(|field| field.trim().to_lowercase())
        .filter(|field| !field.is_empty())
        .collect();
    if fields.is_empty() {
        let default = order.map_or("metadata.uid", |order| order.field.as_str());
        fields.push(default.to_string());
    }
    Ok(Some(FullTextFilter { term, fields }))
}

/// Parses the repeatable `facet` parameter of `/entity-facets`.
pub fn parse_facets(params: &QueryParams) -> Result<Vec<String>, ApiError> {
    let facets: Vec<String> = params
        .all("facet")
        .into_iter()
        .map(str::trim)
        .filter(|facet| !facet.is_empty())
        .map(str::to_string)
        .collect();
    if facets.is_empty() {
        return Err(ApiError::Input(
            "Missing facet parameter; pass one or more, such as ?facet=kind&facet=spec.type"
                .to_string(),
        ));
    }
    Ok(facets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> QueryParams {
        QueryParams::parse(Some(query))
    }

    fn condition(key: &str, values: Option<&[&str]>) -> FilterCondition {
        FilterCondition {
            key: key.to_string(),
            values: values.map(|values| values.iter().map(|value| value.to_string()).collect()),
        }
    }

    #[test]
    fn comma_joins_conditions() {
        let filter = parse_filter(&params("filter=kind=user,metadata.namespace=default"))
            .unwrap()
            .unwrap();
        assert_eq!(
            filter.any_of,
            vec![vec![
                condition("kind", Some(&["user"])),
                condition("metadata.namespace", Some(&["default"])),
            ]]
        );
    }

    #[test]
    fn repeated_filters_are_alternatives() {
        let filter = parse_filter(&params("filter=kind=user&filter=kind=group"))
            .unwrap()
            .unwrap();
        assert_eq!(filter.any_of.len(), 2);
    }

    #[test]
    fn bare_key_requires_existence() {
        let filter = parse_filter(&params("filter=spec.profile.email"))
            .unwrap()
            .unwrap();
        assert_eq!(
            filter.any_of[0],
            vec![condition("spec.profile.email", None)]
        );
    }

    #[test]
    fn same_key_collects_values() {
        let filter = parse_filter(&params("filter=kind=User,kind=Group"))
            .unwrap()
            .unwrap();
        assert_eq!(
            filter.any_of[0],
            vec![condition("kind", Some(&["user", "group"]))]
        );
    }

    #[test]
    fn keys_and_values_are_lower_cased() {
        let filter = parse_filter(&params("filter=Spec.Profile.Email=A@X.io"))
            .unwrap()
            .unwrap();
        assert_eq!(
            filter.any_of[0],
            vec![condition("spec.profile.email", Some(&["a@x.io"]))]
        );
    }

    #[test]
    fn value_may_contain_equals_sign() {
        let filter = parse_filter(&params("filter=metadata.annotations.x%3Da%3Db"))
            .unwrap()
            .unwrap();
        assert_eq!(
            filter.any_of[0],
            vec![condition("metadata.annotations.x", Some(&["a=b"]))]
        );
    }

    #[test]
    fn empty_key_is_rejected() {
        let error = parse_filter(&params("filter=%3Duser")).unwrap_err();
        assert_eq!(error.name(), "InputError");
    }

    #[test]
    fn empty_filter_is_none() {
        assert_eq!(parse_filter(&params("filter=,")).unwrap(), None);
    }

    #[test]
    fn fields_split_on_commas() {
        let fields = parse_fields(&params("fields=kind,metadata.name&fields=spec")).unwrap();
        assert_eq!(
            fields,
            Some(vec![
                "kind".to_string(),
                "metadata.name".to_string(),
                "spec".to_string()
            ])
        );
    }

    #[test]
    fn array_fields_are_rejected() {
        assert!(parse_fields(&params("fields=spec.memberOf[0]")).is_err());
    }

    #[test]
    fn order_field_defaults_to_ascending() {
        let order = parse_order_fields(&params("orderField=metadata.name"))
            .unwrap()
            .unwrap();
        assert_eq!(order.order, SortOrder::Asc);
    }

    #[test]
    fn order_field_reads_direction() {
        let order = parse_order_fields(&params("orderField=metadata.Name,desc"))
            .unwrap()
            .unwrap();
        assert_eq!(
            order,
            OrderField {
                field: "metadata.name".to_string(),
                order: SortOrder::Desc
            }
        );
    }

    #[test]
    fn order_field_rejects_unknown_direction() {
        assert!(parse_order_fields(&params("orderField=metadata.name,up")).is_err());
    }

    #[test]
    fn legacy_order_reads_prefix() {
        let order = parse_legacy_order(&params("order=desc:metadata.name"))
            .unwrap()
            .unwrap();
        assert_eq!(order.order, SortOrder::Desc);
    }

    #[test]
    fn full_text_defaults_to_order_field() {
        let order = OrderField {
            field: "metadata.name".to_string(),
            order: SortOrder::Asc,
        };
        let filter = parse_full_text(&params("fullTextFilterTerm=%20Ann%20"), Some(&order))
            .unwrap()
            .unwrap();
        assert_eq!(filter.term, "ann");
        assert_eq!(filter.fields, vec!["metadata.name".to_string()]);
    }

    #[test]
    fn full_text_reads_fields() {
        let filter = parse_full_text(
            &params(
                "fullTextFilterTerm=a&fullTextFilterFields=metadata.name,spec.profile.displayName",
            ),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            filter.fields,
            vec![
                "metadata.name".to_string(),
                "spec.profile.displayname".to_string()
            ]
        );
    }

    #[test]
    fn blank_full_text_term_is_none() {
        assert_eq!(
            parse_full_text(&params("fullTextFilterTerm=%20"), None).unwrap(),
            None
        );
    }

    #[test]
    fn repeated_single_parameter_is_rejected() {
        assert!(params("limit=1&limit=2").integer("limit").is_err());
    }

    #[test]
    fn negative_integer_is_rejected() {
        assert!(params("limit=-1").integer("limit").is_err());
    }

    #[test]
    fn missing_facet_is_rejected() {
        assert!(parse_facets(&params("filter=kind=user")).is_err());
    }
}
