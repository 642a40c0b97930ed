//! PostGIS: filters, sorting and paging pushed into SQL; geometries as WKB.

use super::connection::{connect, ident, PgParams};
use super::relation::{self, resolve, Relation};
use crate::feature::{Feature, Value};
use crate::filter::{Compare, Filter};
use crate::query::{Query, QueryResult};
use crate::wkb::parse_wkb;
use crate::FeatureError;
use postgres::types::Type;

/// A text as an SQL string literal.
pub(super) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A filter as SQL, or `None` when part of it cannot be expressed (then it runs in memory);
/// `pk` is the SQL of a row's id.
pub(super) fn to_sql(
    f: &Filter,
    geom: &str,
    srid: i32,
    pk: &str,
    id_prefix: &str,
) -> Option<String> {
    Some(match f {
        Filter::All => "TRUE".into(),
        Filter::BBox(b) => format!(
            "{} && ST_MakeEnvelope({}, {}, {}, {}, {srid})",
            ident(geom),
            b.min().x,
            b.min().y,
            b.max().x,
            b.max().y
        ),
        Filter::Cmp(p, op, lit) => {
            let o = match op {
                Compare::Eq => "=",
                Compare::Ne => "<>",
                Compare::Lt => "<",
                Compare::Le => "<=",
                Compare::Gt => ">",
                Compare::Ge => ">=",
            };
            match lit.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => format!("CASE WHEN pg_typeof({c})::text IN ('integer','bigint','smallint','numeric','real','double precision') THEN {c}::float8 {o} {n} ELSE {c}::text {o} {l} END", c = ident(p), l = literal(lit)),
                _ => format!("{}::text {o} {}", ident(p), literal(lit)),
            }
        }
        Filter::Like(p, pat, case) => format!(
            "{}::text {} {}",
            ident(p),
            if *case { "LIKE" } else { "ILIKE" },
            literal(pat)
        ),
        Filter::Between(p, lo, hi) => match (lo.parse::<f64>(), hi.parse::<f64>()) {
            (Ok(a), Ok(b)) if a.is_finite() && b.is_finite() => {
                format!("{}::float8 BETWEEN {a} AND {b}", ident(p))
            }
            _ => format!(
                "{}::text BETWEEN {} AND {}",
                ident(p),
                literal(lo),
                literal(hi)
            ),
        },
        Filter::IsNull(p) => format!("{} IS NULL", ident(p)),
        Filter::Spatial(op, g) => {
            let f = match op {
                crate::filter::Spatial::Intersects => "ST_Intersects",
                crate::filter::Spatial::Disjoint => "ST_Disjoint",
                crate::filter::Spatial::Within => "ST_Within",
                crate::filter::Spatial::Contains => "ST_Contains",
            };
            format!(
                "{f}({}, ST_GeomFromText({}, {srid}))",
                ident(geom),
                literal(&crate::wkt::to_wkt(g))
            )
        }
        Filter::Ids(ids) => {
            let keys: Vec<String> = ids
                .iter()
                .filter_map(|i| i.strip_prefix(&format!("{id_prefix}.")))
                .map(literal)
                .collect();
            if keys.is_empty() {
                "FALSE".into()
            } else {
                format!("({pk})::text IN ({})", keys.join(", "))
            }
        }
        Filter::And(v) => format!(
            "({})",
            v.iter()
                .map(|x| to_sql(x, geom, srid, pk, id_prefix))
                .collect::<Option<Vec<_>>>()?
                .join(" AND ")
        ),
        Filter::Or(v) => format!(
            "({})",
            v.iter()
                .map(|x| to_sql(x, geom, srid, pk, id_prefix))
                .collect::<Option<Vec<_>>>()?
                .join(" OR ")
        ),
        Filter::Not(x) => format!("NOT ({})", to_sql(x, geom, srid, pk, id_prefix)?),
    })
}

fn value(row: &postgres::Row, i: usize) -> Value {
    let t = row.columns()[i].type_().clone();
    let v = match t {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .ok()
            .flatten()
            .map(Value::Bool),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .ok()
            .flatten()
            .map(|v| Value::Int(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .ok()
            .flatten()
            .map(|v| Value::Int(v.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .ok()
            .flatten()
            .map(Value::Int),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .ok()
            .flatten()
            .map(|v| Value::Float(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .ok()
            .flatten()
            .map(Value::Float),
        _ => row
            .try_get::<_, Option<String>>(i)
            .ok()
            .flatten()
            .map(Value::Text),
    };
    v.unwrap_or(Value::Null)
}

/// Run a query on a PostGIS table or SQL view.
pub(crate) fn query(
    p: &PgParams,
    rel: &Relation,
    id_prefix: &str,
    q: &Query,
) -> Result<QueryResult, FeatureError> {
    let name = match rel {
        Relation::Table(t) => t.clone(),
        Relation::View(v, _) => v.name.clone(),
    };
    let err = |e: postgres::Error| FeatureError::Data(format!("PostGIS {name}: {e}"));
    let mut c = connect(p)?;
    let r = resolve(&mut c, p, rel, q.limit > 0)?;
    let from = &r.from;
    let pushed = to_sql(&q.filter, &r.geom, r.srid, &r.id_sql, id_prefix);
    let Some(wher) = pushed else {
        return Err(FeatureError::Data(
            "this filter cannot run on PostGIS yet".into(),
        ));
    };
    let total: i64 = c
        .query_one(&format!("SELECT count(*) FROM {from} WHERE {wher}"), &[])
        .map_err(err)?
        .get(0);
    let mut features = Vec::new();
    if q.limit > 0 {
        // Columns other than the geometry and the key, in order.
        let cols: Vec<String> = r
            .columns
            .iter()
            .map(|col| col.name.clone())
            .filter(|n| Some(n) != r.key.as_ref() && *n != r.geom)
            .collect();
        let select: Vec<String> = cols.iter().map(|c| ident(c)).collect();
        let order = if q.sort.is_empty() {
            r.ordered.then(|| r.id_sql.clone())
        } else {
            Some(
                q.sort
                    .iter()
                    .map(|k| {
                        format!(
                            "{} {}",
                            ident(&k.property),
                            if k.descending { "DESC" } else { "ASC" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        let limit = if q.limit == usize::MAX {
            "ALL".to_string()
        } else {
            q.limit.to_string()
        };
        let sql = format!(
            "SELECT ({pkc})::text AS meridian_fid, ST_AsBinary({g}) AS meridian_geom{rest} FROM {from} WHERE {wher}{order} LIMIT {limit} OFFSET {off}",
            pkc = r.id_sql,
            g = ident(&r.geom),
            rest = if select.is_empty() { String::new() } else { format!(", {}", select.join(", ")) },
            order = order.map(|o| format!(" ORDER BY {o}")).unwrap_or_default(),
            off = q.offset
        );
        for row in c.query(&sql, &[]).map_err(err)? {
            let id: String = row.get(0);
            let wkb: Option<Vec<u8>> = row.get(1);
            let geometry = wkb.as_deref().and_then(parse_wkb);
            let mut properties: Vec<(String, Value)> = cols
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), value(&row, i + 2)))
                .collect();
            if let Some(props) = &q.properties {
                properties.retain(|(k, _)| props.iter().any(|p| p == k));
            }
            features.push(Feature {
                id: format!("{id_prefix}.{id}"),
                geometry,
                properties,
            });
        }
    }
    Ok(QueryResult {
        matched: usize::try_from(total).unwrap_or(0),
        features,
    })
}

/// A vector tile made by PostGIS (`ST_AsMVTGeom` clips and snaps each geometry to the tile,
/// `ST_AsMVT` encodes the layer), run from async code on a connection of
/// [`super::async_connection`]; `None` when the layer's filter does not run in SQL or the
/// geometry column has no SRID (the caller then builds the tile itself).
pub(crate) fn mvt(
    p: &PgParams,
    rel: &Relation,
    t: &crate::source::MvtTile<'_>,
) -> crate::source::MvtFuture {
    let (p, rel) = (p.clone(), rel.clone());
    let (bbox, epsg, extent, buffer) = (t.bbox, t.epsg, t.extent, t.buffer);
    let layer = t.layer.to_string();
    let filter = t.filter.cloned();
    Box::pin(async move {
        let name = match &rel {
            Relation::Table(t) => t.clone(),
            Relation::View(v, _) => v.name.clone(),
        };
        // The table's description: kept a few seconds, else read on a blocking connection.
        let r = match relation::kept(&p, &rel, true) {
            Some(r) => r,
            None => {
                let (p, rel) = (p.clone(), rel.clone());
                tokio::task::spawn_blocking(move || {
                    let mut c = connect(&p)?;
                    resolve(&mut c, &p, &rel, true).map(std::sync::Arc::new)
                })
                .await
                .map_err(|e| FeatureError::Data(format!("PostGIS {name}: {e}")))??
            }
        };
        if r.srid <= 0 || !bbox.iter().all(|v| v.is_finite()) {
            return Ok(None);
        }
        let filter = match &filter {
            Some(f) => match to_sql(f, &r.geom, r.srid, &r.id_sql, "") {
                Some(sql) => sql,
                None => return Ok(None),
            },
            None => "TRUE".into(),
        };
        // The tile's box as parameters: the statement's text is the same for every tile of
        // the layer, so it is prepared once per connection.
        let env =
            format!("ST_MakeEnvelope($2::float8, $3::float8, $4::float8, $5::float8, {epsg})");
        let cols: Vec<String> = r
            .columns
            .iter()
            .map(|col| col.name.clone())
            .filter(|n| Some(n) != r.key.as_ref() && *n != r.geom)
            .map(|n| ident(&n))
            .collect();
        let g = ident(&r.geom);
        let sql = format!(
            "SELECT ST_AsMVT(q, $1, {extent}, 'meridian_geom') FROM (SELECT ST_AsMVTGeom(ST_Transform({g}, {epsg}), {env}, {extent}, {buffer}, true) AS meridian_geom{rest} FROM {from} WHERE {g} && ST_Transform({env}, {srid}) AND ({filter})) q WHERE meridian_geom IS NOT NULL",
            rest = if cols.is_empty() { String::new() } else { format!(", {}", cols.join(", ")) },
            from = r.from,
            srid = r.srid,
        );
        let [minx, miny, maxx, maxy] = bbox;
        let mut c = super::async_connection::connect(&p).await?;
        let row = c
            .query_one_prepared(&sql, &[&layer, &minx, &miny, &maxx, &maxy])
            .await
            .map_err(|e| FeatureError::Data(format!("PostGIS {name}: {e}")))?;
        Ok(Some(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default()))
    })
}
