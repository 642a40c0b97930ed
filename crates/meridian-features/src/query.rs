//! A query against one feature type: filter, sort, page, project.

use crate::feature::{Feature, Value};
use crate::filter::Filter;
use crate::source::FeatureSource;
use crate::store::open_source;
use crate::FeatureError;
use meridian_sources::StoreParams;
use std::cmp::Ordering;

/// A sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// Property name.
    pub property: String,
    /// Descending order.
    pub descending: bool,
}

/// What to read.
#[derive(Debug, Clone)]
pub struct Query {
    /// Which features.
    pub filter: Filter,
    /// Order (empty: the store's natural order).
    pub sort: Vec<SortKey>,
    /// Features to skip.
    pub offset: usize,
    /// Features to return at most (0 = count only).
    pub limit: usize,
    /// Properties to keep (`None`: all).
    pub properties: Option<Vec<String>>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            filter: Filter::All,
            sort: Vec::new(),
            offset: 0,
            limit: usize::MAX,
            properties: None,
        }
    }
}

/// What was read.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Features matching the filter, before paging.
    pub matched: usize,
    /// The requested page.
    pub features: Vec<Feature>,
}

fn compare(a: &Feature, b: &Feature, keys: &[SortKey]) -> Ordering {
    for k in keys {
        let (va, vb) = (a.get(&k.property), b.get(&k.property));
        let o = match (va.and_then(Value::as_f64), vb.and_then(Value::as_f64)) {
            (Some(x), Some(y)) if !matches!(va, Some(Value::Text(_))) => {
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            }
            _ => va.map(Value::as_text).cmp(&vb.map(Value::as_text)),
        };
        let o = if k.descending { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Run a query on the type `native` of a store; feature ids are `<id_prefix>.<key>`.
pub fn query(
    store: &StoreParams,
    native: &str,
    id_prefix: &str,
    q: &Query,
) -> Result<QueryResult, FeatureError> {
    query_source(&*open_source(store, native)?, id_prefix, q)
}

/// Run a query on a source: whole, when the source runs queries itself; else its features
/// are streamed (by the filter's bounding box) and filtered, sorted and paged here, holding
/// only the requested page (or, when sorting, the first `offset + limit`).
pub fn query_source(
    source: &dyn FeatureSource,
    id_prefix: &str,
    q: &Query,
) -> Result<QueryResult, FeatureError> {
    if source.pushdown().filters {
        return source.run(q, id_prefix);
    }
    let end = q.offset.saturating_add(q.limit);
    let mut matched = 0usize;
    let mut page: Vec<Feature> = Vec::new();
    let sorting = !q.sort.is_empty() && q.limit > 0;
    // Every feature matches and the order is the source's: the count comes from the source
    // and the scan stops once the page is full (no need to decode the rest).
    let total = match (&q.filter, sorting) {
        (Filter::All, false) => source.count_all()?,
        _ => None,
    };
    let mut keep = |f: Feature| -> bool {
        if total.is_some() && matched >= end {
            return false;
        }
        if !q.filter.matches(&f) {
            return true;
        }
        let i = matched;
        matched += 1;
        if sorting {
            page.push(f);
            if page.len() > end.saturating_mul(2).max(1024) {
                page.sort_by(|a, b| compare(a, b, &q.sort));
                page.truncate(end);
            }
        } else if i >= q.offset && i < end {
            page.push(f);
        }
        true
    };
    source.scan(q.filter.bbox(), id_prefix, &mut keep)?;
    if sorting {
        page.sort_by(|a, b| compare(a, b, &q.sort));
        page = page.into_iter().skip(q.offset).take(q.limit).collect();
    }
    if let Some(props) = &q.properties {
        for f in page.iter_mut() {
            f.properties.retain(|(k, _)| props.iter().any(|p| p == k));
        }
    }
    Ok(QueryResult {
        matched: total.unwrap_or(matched),
        features: page,
    })
}
