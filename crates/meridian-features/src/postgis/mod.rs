//! PostGIS: connections (GeoServer's parameters, TLS, a pool), schemas from the database's
//! catalog, queries run in SQL (filters, sorting, paging pushed down), and writes in a
//! database transaction ([`write`]).

mod connection;
mod query;
mod schema;
pub mod tls;
mod write;

pub use connection::{connect, ident, PgConn, PgParams};

use crate::query::{Query, QueryResult};
use crate::source::{FeatureSource, FeatureStore, Pushdown, StoreTransaction};
use crate::{Feature, FeatureError, Filter};
use geo_types::Rect;
use meridian_sources::Schema;

/// A PostGIS database schema.
pub(crate) struct PostGisStore(pub(crate) PgParams);

impl FeatureStore for PostGisStore {
    fn type_names(&self) -> Result<Vec<String>, FeatureError> {
        Ok(schema::list(&self.0)?)
    }

    fn source(&self, name: &str) -> Result<Box<dyn FeatureSource>, FeatureError> {
        Ok(Box::new(PostGisSource {
            params: self.0.clone(),
            table: name.to_string(),
        }))
    }

    fn begin(&self) -> Result<Box<dyn StoreTransaction>, FeatureError> {
        Ok(Box::new(write::PostGisTransaction::begin(&self.0)?))
    }
}

/// One geometry table.
struct PostGisSource {
    params: PgParams,
    table: String,
}

impl FeatureSource for PostGisSource {
    fn schema(&self) -> Result<Schema, FeatureError> {
        Ok(schema::describe(&self.params, &self.table)?)
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
        query::query(&self.params, &self.table, id_prefix, q)
    }
}
