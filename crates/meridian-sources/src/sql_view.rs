//! SQL views: GeoServer's `JDBC_VIRTUAL_TABLE`, a feature type defined by a query of a
//! database store, with `%name%` parameters a request fills in (`viewparams`).
//!
//! A parameter's value must match its validator (a regular expression, anchored as GeoServer
//! uses it); a parameter without one is held to a default, so no parameter reaches the SQL
//! unchecked. The default is letters, digits, `_` and `.` — stricter than the one GeoServer's
//! form suggests (`^[\w\d\s]+$`), which lets `0 or true` through. With `escapeSql`, quotes in
//! values are doubled.

use meridian_xml::Element;
use std::collections::HashMap;

/// The validator of a parameter that names none: one word or number (letters, digits, `_`,
/// `.`), no spaces, quotes or operators.
pub const DEFAULT_VALIDATOR: &str = r"^[\w.]+$";

/// Longest value a parameter takes.
const MAX_VALUE: usize = 1024;

/// One `%name%` parameter of a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewParameter {
    /// The name between `%` signs.
    pub name: String,
    /// The value when a request gives none.
    pub default: Option<String>,
    /// What a value must match.
    pub validator: String,
}

/// The geometry column a view declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewGeometry {
    /// Column name.
    pub name: String,
    /// Geometry kind (`Point`, `MultiPolygon`, `Geometry`…).
    pub kind: String,
    /// SRID.
    pub srid: u32,
}

/// A feature type defined by SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlView {
    /// The feature type's native name.
    pub name: String,
    /// The query, with `%name%` parameters.
    pub sql: String,
    /// Whether quotes in parameter values are doubled.
    pub escape_sql: bool,
    /// Columns that identify a row (feature ids); none: ids by position.
    pub key_columns: Vec<String>,
    /// Declared geometry columns.
    pub geometries: Vec<ViewGeometry>,
    /// Its parameters.
    pub parameters: Vec<ViewParameter>,
}

/// Why a view or its parameters cannot be used (the caller's mistake).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// The definition is incomplete or malformed.
    #[error("SQL view: {0}")]
    Definition(String),
    /// A parameter value is refused.
    #[error("SQL view parameter {name}: {why}")]
    Parameter {
        /// The parameter.
        name: String,
        /// What is wrong.
        why: String,
    },
}

impl SqlView {
    /// The view a feature type's XML declares (`<metadata><entry key="JDBC_VIRTUAL_TABLE">`),
    /// if any.
    pub fn of_resource(resource: &Element) -> Result<Option<SqlView>, ViewError> {
        let Some(md) = resource.get("metadata") else {
            return Ok(None);
        };
        let entry = md.children.iter().find(|e| {
            e.attr_value("key") == Some("JDBC_VIRTUAL_TABLE")
                || e.child_text("@key") == Some("JDBC_VIRTUAL_TABLE")
        });
        match entry.and_then(|e| e.get("virtualTable")) {
            Some(vt) => SqlView::from_xml(vt).map(Some),
            None => Ok(None),
        }
    }

    /// Read a `<virtualTable>`.
    pub fn from_xml(vt: &Element) -> Result<SqlView, ViewError> {
        let text = |e: &Element, k: &str| e.child_text(k).map(str::trim).map(str::to_string);
        let name = text(vt, "name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ViewError::Definition("a virtualTable needs a <name>".into()))?;
        let sql = vt
            .child_text("sql")
            .map(str::to_string)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ViewError::Definition(format!("the view {name} has no <sql>")))?;
        let mut parameters = Vec::new();
        for p in vt
            .children
            .iter()
            .filter(|c| c.name.as_str() == "parameter")
        {
            let pname = text(p, "name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ViewError::Definition("a view parameter needs a <name>".into()))?;
            let validator = text(p, "regexpValidator")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| DEFAULT_VALIDATOR.to_string());
            regex::Regex::new(&validator).map_err(|e| {
                ViewError::Definition(format!(
                    "the validator of parameter {pname} is not a regular expression: {e}"
                ))
            })?;
            // The administrator's default is taken as written (an empty one included, as
            // geoserver-rest writes for text parameters); what requests give is checked.
            let default = p.child_text("defaultValue").map(str::to_string);
            parameters.push(ViewParameter {
                name: pname,
                default,
                validator,
            });
        }
        let geometries = vt
            .children
            .iter()
            .filter(|c| c.name.as_str() == "geometry")
            .map(|g| {
                Ok(ViewGeometry {
                    name: text(g, "name").ok_or_else(|| {
                        ViewError::Definition("a view geometry needs a <name>".into())
                    })?,
                    kind: text(g, "type").unwrap_or_else(|| "Geometry".into()),
                    srid: text(g, "srid").and_then(|s| s.parse().ok()).unwrap_or(4326),
                })
            })
            .collect::<Result<_, ViewError>>()?;
        Ok(SqlView {
            name,
            sql,
            escape_sql: text(vt, "escapeSql").as_deref() == Some("true"),
            key_columns: vt
                .children
                .iter()
                .filter(|c| c.name.as_str() == "keyColumn")
                .filter_map(|k| k.text_trim().map(str::to_string))
                .collect(),
            geometries,
            parameters,
        })
    }

    /// The query with every parameter filled: `given` values (checked against their
    /// validators), else the defaults. A parameter with neither is an error.
    pub fn expand(&self, given: &HashMap<String, String>) -> Result<String, ViewError> {
        let mut sql = self.sql.clone();
        for p in &self.parameters {
            let value = match given.get(&p.name) {
                Some(v) => {
                    check(&p.name, &p.validator, v)?;
                    v.clone()
                }
                None => p.default.clone().ok_or_else(|| ViewError::Parameter {
                    name: p.name.clone(),
                    why: "no value given and no default".into(),
                })?,
            };
            let value = if self.escape_sql {
                value.replace('\'', "''")
            } else {
                value
            };
            sql = sql.replace(&format!("%{}%", p.name), &value);
        }
        Ok(sql)
    }
}

/// Whether `value` passes `validator` (the whole value must match).
fn check(name: &str, validator: &str, value: &str) -> Result<(), ViewError> {
    let refuse = |why: String| ViewError::Parameter {
        name: name.to_string(),
        why,
    };
    if value.len() > MAX_VALUE {
        return Err(refuse(format!("longer than {MAX_VALUE} bytes")));
    }
    let anchored = format!("^(?:{validator})$");
    let re = regex::Regex::new(&anchored).map_err(|e| refuse(e.to_string()))?;
    if re.is_match(value) {
        Ok(())
    } else {
        Err(refuse(format!("'{value}' does not match {validator}")))
    }
}

/// A request's `viewparams` for its `n`th layer: `k:v;k2:v2`, one list per layer separated by
/// commas (`\` escapes `,`, `;` and `:`).
pub fn parse_view_params(text: &str, n: usize) -> HashMap<String, String> {
    let lists = split_unescaped(text, ',');
    let Some(list) = lists.get(n).or(lists.first()) else {
        return HashMap::new();
    };
    split_unescaped(list, ';')
        .into_iter()
        .filter_map(|kv| {
            let parts = split_unescaped(&kv, ':');
            let (k, v) = (parts.first()?, parts.get(1..)?.join(":"));
            (!k.is_empty()).then(|| (k.clone(), v))
        })
        .collect()
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                if n == ',' || n == ';' || n == ':' || n == '\\' {
                    if n == sep {
                        if let Some(last) = out.last_mut() {
                            last.push(n);
                        }
                    } else if let Some(last) = out.last_mut() {
                        last.push('\\');
                        last.push(n);
                    }
                    continue;
                }
                if let Some(last) = out.last_mut() {
                    last.push(c);
                    last.push(n);
                }
                continue;
            }
        }
        if c == sep {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn view() -> SqlView {
        let x = meridian_xml::parse(
            r#"<featureType><metadata><entry key="JDBC_VIRTUAL_TABLE"><virtualTable><name>big</name><sql>select * from states where persons &gt; %min% and state_abbr &lt;&gt; '%not%'</sql><escapeSql>true</escapeSql><keyColumn>gid</keyColumn><geometry><name>geom</name><type>MultiPolygon</type><srid>4326</srid></geometry><parameter><name>min</name><defaultValue>1000000</defaultValue><regexpValidator>^[\d]+$</regexpValidator></parameter><parameter><name>not</name><defaultValue>XX</defaultValue></parameter></virtualTable></entry></metadata></featureType>"#,
        )
        .unwrap();
        SqlView::of_resource(&x).unwrap().unwrap()
    }

    #[test]
    fn parameters_are_filled_checked_and_escaped() {
        let v = view();
        assert_eq!(v.key_columns, vec!["gid".to_string()]);
        assert_eq!(v.geometries[0].srid, 4326);
        assert_eq!(
            v.expand(&HashMap::new()).unwrap(),
            "select * from states where persons > 1000000 and state_abbr <> 'XX'"
        );
        let given = parse_view_params("min:5000000;not:TX", 0);
        assert_eq!(
            v.expand(&given).unwrap(),
            "select * from states where persons > 5000000 and state_abbr <> 'TX'"
        );
        // Injection attempts fail their validators (the default one included).
        for bad in ["1 or 1=1", "1;drop table states", "", "0 or true"] {
            let g = HashMap::from([("min".to_string(), bad.to_string())]);
            assert!(v.expand(&g).is_err(), "{bad}");
        }
        let g = HashMap::from([("not".to_string(), "x' or '1'='1".to_string())]);
        assert!(v.expand(&g).is_err());
    }

    #[test]
    fn view_params_split_per_layer_with_escapes() {
        assert_eq!(
            parse_view_params("a:1;b:x\\,y,a:2", 1),
            HashMap::from([("a".to_string(), "2".to_string())])
        );
        assert_eq!(
            parse_view_params("a:1;b:x\\,y,a:2", 0)
                .get("b")
                .map(String::as_str),
            Some("x,y")
        );
    }
}
