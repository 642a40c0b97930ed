//! A query against one feature type: filter, sort, page, project.

use crate::feature::{Feature, Value};
use crate::filter::Filter;
use crate::{gpkg, shp, FeatureError};
use meridian_sources::{locate, Located, StoreParams};
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

/// Run a query on the type `native` of a store; feature ids are `<id_prefix>.<n>`. Features are
/// streamed: only the requested page (or, when sorting, the first `offset + limit`) is held.
pub fn query(
    store: &StoreParams,
    native: &str,
    id_prefix: &str,
    q: &Query,
) -> Result<QueryResult, FeatureError> {
    let end = q.offset.saturating_add(q.limit);
    let mut matched = 0usize;
    let mut page: Vec<Feature> = Vec::new();
    let sorting = !q.sort.is_empty() && q.limit > 0;
    let located = locate(store, native)?;
    // Every feature matches and the order is the file's: the count comes from the source's
    // index and the scan stops once the page is full (no need to decode the rest).
    let total = match (&q.filter, sorting, &located) {
        (Filter::All, false, Located::Shapefile(p)) => shp::count(p),
        (Filter::All, false, Located::GeoPackage(p, table)) if p.is_file() => {
            Some(gpkg::count(p, table)?)
        }
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
    if let Located::PostGis(p, table) = &located {
        // Filters, order and paging run in the database.
        return crate::postgis::query(p, table, id_prefix, q);
    }
    match located {
        Located::Shapefile(p) => shp::scan(&p, id_prefix, &mut keep)?,
        Located::GeoPackage(p, table) => {
            if !p.is_file() {
                return Err(FeatureError::Data(format!(
                    "{}: no such GeoPackage",
                    p.display()
                )));
            }
            gpkg::scan(&p, &table, id_prefix, q.filter.bbox(), &mut keep)?
        }
        Located::PostGis(..) => {}
    }
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
