//! PostGIS: connections (GeoServer's parameters, TLS, a pool), schemas from the database's
//! catalog, queries run in SQL (filters, sorting, paging pushed down), and writes in a
//! database transaction ([`write`]).

mod async_connection;
mod connection;
mod query;
mod relation;
mod schema;
pub mod tls;
mod write;

pub use connection::{connect, ident, PgConn, PgParams};

use crate::query::{Query, QueryResult};
use crate::source::{FeatureSource, FeatureStore, Pushdown, StoreTransaction};
use crate::{Feature, FeatureError, Filter};
use geo_types::Rect;
use meridian_sources::{Schema, SqlView};
use relation::Relation;
use std::collections::HashMap;
use std::sync::Arc;

/// A PostGIS database schema, and the SQL view a layer reads from it (if any).
pub(crate) struct PostGisStore {
    pub(crate) params: PgParams,
    pub(crate) view: Option<(Arc<SqlView>, HashMap<String, String>)>,
}

impl FeatureStore for PostGisStore {
    fn type_names(&self) -> Result<Vec<String>, FeatureError> {
        Ok(schema::list(&self.params)?)
    }

    fn source(&self, name: &str) -> Result<Box<dyn FeatureSource>, FeatureError> {
        let relation = match &self.view {
            Some((v, values)) if v.name == name => Relation::View(v.clone(), values.clone()),
            _ => Relation::Table(name.to_string()),
        };
        Ok(Box::new(PostGisSource {
            params: self.params.clone(),
            relation,
        }))
    }

    fn begin(&self) -> Result<Box<dyn StoreTransaction>, FeatureError> {
        Ok(Box::new(write::PostGisTransaction::begin(
            &self.params,
            self.view.as_ref().map(|(v, _)| v.name.clone()),
        )?))
    }
}

/// One geometry table, or a SQL view.
struct PostGisSource {
    params: PgParams,
    relation: Relation,
}

impl FeatureSource for PostGisSource {
    fn schema(&self) -> Result<Schema, FeatureError> {
        Ok(schema::describe(&self.params, &self.relation)?)
    }

    fn pushdown(&self) -> Pushdown {
        Pushdown {
            filters: true,
            bbox: true,
            sorting: true,
            paging: true,
            count: true,
        }
    }

    fn scan(
        &self,
        bbox: Option<Rect<f64>>,
        id_prefix: &str,
        each: &mut dyn FnMut(Feature) -> bool,
    ) -> Result<(), FeatureError> {
        let q = Query {
            filter: bbox.map_or(Filter::All, Filter::BBox),
            ..Query::default()
        };
        for f in self.run(&q, id_prefix)?.features {
            if !each(f) {
                break;
            }
        }
        Ok(())
    }

    fn run(&self, q: &Query, id_prefix: &str) -> Result<QueryResult, FeatureError> {
        query::query(&self.params, &self.relation, id_prefix, q)
    }

    fn mvt(&self, tile: &crate::source::MvtTile<'_>) -> Option<crate::source::MvtFuture> {
        Some(query::mvt(&self.params, &self.relation, tile))
    }
}
