//! GeoServer's `CQL_FILTER` (the common part of ECQL) into Meridian's filters:
//! comparisons, `[NOT] LIKE`/`ILIKE`, `[NOT] BETWEEN`, `IS [NOT] NULL`, `[NOT] IN (...)`,
//! `IN ('id', ...)` on feature ids, `BBOX(geom, x1, y1, x2, y2[, 'crs'])`, `AND`, `OR`, `NOT`
//! and parentheses.

use super::error::FilterError;
use super::fes::Envelope;
use super::{Compare, Filter, Spatial};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Op(String),
    LParen,
    RParen,
    Comma,
    Wkt(String),
}

/// A token as the filter's author wrote it.
fn shown(t: &Tok) -> String {
    match t {
        Tok::Ident(s) | Tok::Num(s) => s.clone(),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Op(s) => format!("'{s}'"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Wkt(_) => "a WKT geometry".into(),
    }
}

/// What was found where something else was expected.
fn found(t: &Option<Tok>) -> String {
    match t {
        Some(t) => shown(t),
        None => "the end of the filter".into(),
    }
}

fn tokens(s: &str) -> Result<Vec<Tok>, FilterError> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if ch == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if ch == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if ch == '\'' {
            let mut v = String::new();
            i += 1;
            loop {
                match c.get(i) {
                    None => return Err("unterminated string".into()),
                    Some('\'') if c.get(i + 1) == Some(&'\'') => {
                        v.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        v.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(v));
        } else if ch == '"' {
            let start = i + 1;
            let end = c[start..]
                .iter()
                .position(|x| *x == '"')
                .ok_or("unterminated quoted name")?
                + start;
            out.push(Tok::Ident(c[start..end].iter().collect()));
            i = end + 1;
        } else if ch.is_ascii_digit()
            || (ch == '-'
                && c.get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '.'))
            || (ch == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < c.len()
                && (c[i].is_ascii_digit()
                    || c[i] == '.'
                    || c[i] == 'e'
                    || c[i] == 'E'
                    || ((c[i] == '-' || c[i] == '+') && matches!(c[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            out.push(Tok::Num(c[start..i].iter().collect()));
        } else if "=<>!".contains(ch) {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            if ["<=", ">=", "<>", "!="].contains(&two.as_str()) {
                out.push(Tok::Op(two));
                i += 2;
            } else if ch == '!' {
                return Err("unexpected '!'".into());
            } else {
                out.push(Tok::Op(ch.to_string()));
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len()
                && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == ':' || c[i] == '.')
            {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let is_wkt = [
                "POINT",
                "LINESTRING",
                "POLYGON",
                "MULTIPOINT",
                "MULTILINESTRING",
                "MULTIPOLYGON",
            ]
            .contains(&word.to_ascii_uppercase().as_str());
            let mut j = i;
            while j < c.len() && c[j].is_whitespace() {
                j += 1;
            }
            if is_wkt && c.get(j) == Some(&'(') {
                // The geometry text up to its balanced closing parenthesis.
                let mut depth = 0;
                while j < c.len() {
                    match c[j] {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                j += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                if depth != 0 {
                    return Err("unbalanced parentheses in a geometry".into());
                }
                out.push(Tok::Wkt(c[start..j].iter().collect()));
                i = j;
            } else {
                out.push(Tok::Ident(word));
            }
        } else {
            return Err(FilterError::Syntax(format!("unexpected character '{ch}'")));
        }
    }
    Ok(out)
}

struct P<'a> {
    t: Vec<Tok>,
    i: usize,
    env: Envelope<'a>,
}

fn kw(t: Option<&Tok>, k: &str) -> bool {
    matches!(t, Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(k))
}

impl P<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.t.get(self.i).cloned();
        self.i += 1;
        t
    }
    fn eat_kw(&mut self, k: &str) -> bool {
        if kw(self.peek(), k) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: Tok) -> Result<(), FilterError> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            other => Err(FilterError::Syntax(format!(
                "expected {}, found {}",
                shown(&t),
                found(&other)
            ))),
        }
    }
    fn literal(&mut self) -> Result<String, FilterError> {
        match self.next() {
            Some(Tok::Str(s)) | Some(Tok::Num(s)) => Ok(s),
            // CQL2's typed literals: TIMESTAMP('…'), DATE('…'), read as their text.
            Some(Tok::Ident(f))
                if (f.eq_ignore_ascii_case("TIMESTAMP") || f.eq_ignore_ascii_case("DATE"))
                    && self.peek() == Some(&Tok::LParen) =>
            {
                self.i += 1;
                let v = match self.next() {
                    Some(Tok::Str(s)) => s,
                    other => {
                        return Err(FilterError::Syntax(format!(
                            "{f} needs a quoted value, found {}",
                            found(&other)
                        )))
                    }
                };
                self.expect(Tok::RParen)?;
                Ok(v)
            }
            Some(Tok::Ident(s))
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                Ok(s.to_lowercase())
            }
            other => Err(FilterError::Syntax(format!(
                "expected a literal, found {}",
                found(&other)
            ))),
        }
    }
    fn number(&mut self) -> Result<f64, FilterError> {
        match self.next() {
            Some(Tok::Num(s)) => s
                .parse()
                .map_err(|_| FilterError::Syntax(format!("bad number '{s}'"))),
            other => Err(FilterError::Syntax(format!(
                "expected a number, found {}",
                found(&other)
            ))),
        }
    }
    fn or(&mut self, d: usize) -> Result<Filter, FilterError> {
        let mut v = vec![self.and(d)?];
        while self.eat_kw("OR") {
            v.push(self.and(d)?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Filter::Or(v)
        })
    }
    fn and(&mut self, d: usize) -> Result<Filter, FilterError> {
        let mut v = vec![self.not(d)?];
        while self.eat_kw("AND") {
            v.push(self.not(d)?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Filter::And(v)
        })
    }
    fn not(&mut self, d: usize) -> Result<Filter, FilterError> {
        if d > 64 {
            return Err(FilterError::TooDeep);
        }
        if self.eat_kw("NOT") {
            return Ok(Filter::Not(Box::new(self.not(d + 1)?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let f = self.or(d + 1)?;
            self.expect(Tok::RParen)?;
            return Ok(f);
        }
        self.predicate()
    }
    fn list(&mut self) -> Result<Vec<String>, FilterError> {
        self.expect(Tok::LParen)?;
        let mut v = vec![self.literal()?];
        while self.peek() == Some(&Tok::Comma) {
            self.i += 1;
            v.push(self.literal()?);
        }
        self.expect(Tok::RParen)?;
        Ok(v)
    }
    fn predicate(&mut self) -> Result<Filter, FilterError> {
        let name = match self.next() {
            Some(Tok::Ident(n)) => n,
            other => {
                return Err(FilterError::Syntax(format!(
                    "expected a property name, found {}",
                    found(&other)
                )))
            }
        };
        // ECQL's constants: everything, nothing.
        if name.eq_ignore_ascii_case("INCLUDE") {
            return Ok(Filter::All);
        }
        if name.eq_ignore_ascii_case("EXCLUDE") {
            return Ok(Filter::Not(Box::new(Filter::All)));
        }
        if name.eq_ignore_ascii_case("BBOX") && self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            match self.next() {
                Some(Tok::Ident(_)) => {}
                other => {
                    return Err(FilterError::Syntax(format!(
                        "BBOX needs a geometry property, found {}",
                        found(&other)
                    )))
                }
            }
            let mut n = [0.0; 4];
            for x in n.iter_mut() {
                self.expect(Tok::Comma)?;
                *x = self.number()?;
            }
            let crs = if self.peek() == Some(&Tok::Comma) {
                self.i += 1;
                Some(self.literal()?)
            } else {
                None
            };
            self.expect(Tok::RParen)?;
            return Ok(Filter::BBox((self.env)(n, crs.as_deref())?));
        }
        // ECQL's names and CQL2's (`S_INTERSECTS`).
        let upper = name.to_ascii_uppercase();
        let spatial = match upper.strip_prefix("S_").unwrap_or(&upper) {
            "INTERSECTS" => Some(Spatial::Intersects),
            "DISJOINT" => Some(Spatial::Disjoint),
            "WITHIN" => Some(Spatial::Within),
            "CONTAINS" => Some(Spatial::Contains),
            _ => None,
        };
        if let (Some(op), Some(Tok::LParen)) = (spatial, self.peek()) {
            self.i += 1;
            match self.next() {
                Some(Tok::Ident(_)) => {}
                other => {
                    return Err(FilterError::Syntax(format!(
                        "{name} needs a geometry property, found {}",
                        found(&other)
                    )))
                }
            }
            self.expect(Tok::Comma)?;
            let g = match self.next() {
                Some(Tok::Wkt(w)) => crate::parse_wkt(&w)?.0,
                // CQL2's box literal: BBOX(minx, miny, maxx, maxy).
                Some(Tok::Ident(b))
                    if b.eq_ignore_ascii_case("BBOX") && self.peek() == Some(&Tok::LParen) =>
                {
                    self.i += 1;
                    let mut n = [0.0; 4];
                    for (k, x) in n.iter_mut().enumerate() {
                        if k > 0 {
                            self.expect(Tok::Comma)?;
                        }
                        *x = self.number()?;
                    }
                    self.expect(Tok::RParen)?;
                    let [x0, y0, x1, y1] = n;
                    geo_types::Geometry::Polygon(geo_types::Polygon::new(
                        geo_types::LineString::from(vec![
                            (x0, y0),
                            (x1, y0),
                            (x1, y1),
                            (x0, y1),
                            (x0, y0),
                        ]),
                        vec![],
                    ))
                }
                other => {
                    return Err(FilterError::Syntax(format!(
                        "{name} needs a WKT geometry, found {}",
                        found(&other)
                    )))
                }
            };
            self.expect(Tok::RParen)?;
            return Ok(Filter::Spatial(op, g));
        }
        if name.eq_ignore_ascii_case("IN") && self.peek() == Some(&Tok::LParen) {
            return Ok(Filter::Ids(self.list()?));
        }
        let prop = name.rsplit(':').next().unwrap_or(&name).to_string();
        let negated = self.eat_kw("NOT");
        let f = if self.eat_kw("LIKE") {
            Filter::Like(prop, self.literal()?, true)
        } else if self.eat_kw("ILIKE") {
            Filter::Like(prop, self.literal()?, false)
        } else if self.eat_kw("BETWEEN") {
            let lo = self.literal()?;
            if !self.eat_kw("AND") {
                return Err("BETWEEN needs AND".into());
            }
            Filter::Between(prop, lo, self.literal()?)
        } else if self.eat_kw("IN") {
            Filter::Or(
                self.list()?
                    .into_iter()
                    .map(|v| Filter::Cmp(prop.clone(), Compare::Eq, v))
                    .collect(),
            )
        } else if !negated && self.eat_kw("IS") {
            let not = self.eat_kw("NOT");
            if !self.eat_kw("NULL") {
                return Err("IS needs NULL".into());
            }
            let f = Filter::IsNull(prop);
            return Ok(if not { Filter::Not(Box::new(f)) } else { f });
        } else if negated {
            return Err("NOT must be followed by LIKE, ILIKE, BETWEEN or IN here".into());
        } else {
            let op = match self.next() {
                Some(Tok::Op(o)) => o,
                other => {
                    return Err(FilterError::Syntax(format!(
                        "expected an operator after {prop}, found {}",
                        found(&other)
                    )))
                }
            };
            let c = match op.as_str() {
                "=" => Compare::Eq,
                "<>" | "!=" => Compare::Ne,
                "<" => Compare::Lt,
                "<=" => Compare::Le,
                ">" => Compare::Gt,
                ">=" => Compare::Ge,
                o => return Err(FilterError::Syntax(format!("unknown operator {o}"))),
            };
            Filter::Cmp(prop, c, self.literal()?)
        };
        Ok(if negated { Filter::Not(Box::new(f)) } else { f })
    }
}

/// Parse ECQL text.
pub fn parse_cql(text: &str, env: Envelope<'_>) -> Result<Filter, FilterError> {
    let t = tokens(text)?;
    if t.is_empty() {
        return Err("empty filter".into());
    }
    let mut p = P { t, i: 0, env };
    let f = p.or(0)?;
    if p.i < p.t.len() {
        return Err(FilterError::Syntax(format!(
            "unexpected {:?} after the filter",
            p.t[p.i]
        )));
    }
    f.check_numbers()?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(b: [f64; 4], _: Option<&str>) -> Result<geo_types::Rect<f64>, FilterError> {
        Ok(geo_types::Rect::new(
            geo_types::Coord { x: b[0], y: b[1] },
            geo_types::Coord { x: b[2], y: b[3] },
        ))
    }

    #[test]
    fn cql2_text_spatial_names_box_literals_and_typed_literals() {
        let f = parse_cql(
            "S_INTERSECTS(geom, BBOX(-100, 30, -90, 40)) AND \"updated\" >= TIMESTAMP('2020-01-01T00:00:00Z') AND d < DATE('2021-02-03')",
            &env,
        )
        .unwrap();
        let Filter::And(parts) = f else {
            panic!("{f:?}")
        };
        assert!(matches!(
            &parts[0],
            Filter::Spatial(Spatial::Intersects, geo_types::Geometry::Polygon(p))
                if p.exterior().0.len() == 5
        ));
        assert_eq!(
            parts[1],
            Filter::Cmp("updated".into(), Compare::Ge, "2020-01-01T00:00:00Z".into())
        );
        assert_eq!(
            parts[2],
            Filter::Cmp("d".into(), Compare::Lt, "2021-02-03".into())
        );
        assert!(parse_cql("d < DATE(3)", &env)
            .unwrap_err()
            .to_string()
            .contains("DATE needs a quoted value"));
    }

    #[test]
    fn common_ecql() {
        assert_eq!(parse_cql("INCLUDE", &env).unwrap(), Filter::All);
        assert_eq!(
            parse_cql("exclude", &env).unwrap(),
            Filter::Not(Box::new(Filter::All))
        );
        let f = parse_cql(
            "STATE_ABBR = 'TX' OR (PERSONS > 1e6 AND NOT STATE_NAME LIKE 'N%')",
            &env,
        )
        .unwrap();
        assert_eq!(
            f,
            Filter::Or(vec![
                Filter::Cmp("STATE_ABBR".into(), Compare::Eq, "TX".into()),
                Filter::And(vec![
                    Filter::Cmp("PERSONS".into(), Compare::Gt, "1e6".into()),
                    Filter::Not(Box::new(Filter::Like(
                        "STATE_NAME".into(),
                        "N%".into(),
                        true
                    )))
                ])
            ])
        );
        assert!(matches!(
            parse_cql("BBOX(the_geom, -10, 35, 30, 60)", &env).unwrap(),
            Filter::BBox(_)
        ));
        assert_eq!(
            parse_cql("IN ('a.1', 'a.2')", &env).unwrap(),
            Filter::Ids(vec!["a.1".into(), "a.2".into()])
        );
        assert!(matches!(
            parse_cql("x BETWEEN 1 AND 5", &env).unwrap(),
            Filter::Between(..)
        ));
        assert!(matches!(
            parse_cql(
                "INTERSECTS(the_geom, POLYGON((0 0, 1 0, 1 1, 0 0))) AND n = 1",
                &env
            )
            .unwrap(),
            Filter::And(_)
        ));
        assert!(parse_cql("WITHIN(the_geom, POINT(1 2)", &env).is_err());
        assert!(matches!(
            parse_cql("x IS NOT NULL", &env).unwrap(),
            Filter::Not(_)
        ));
        assert!(matches!(
            parse_cql("name NOT IN ('a', 'b')", &env).unwrap(),
            Filter::Not(_)
        ));
        assert_eq!(
            parse_cql("n = 'it''s'", &env).unwrap(),
            Filter::Cmp("n".into(), Compare::Eq, "it's".into())
        );
        for bad in ["", "x =", "x = 'open", "(x = 1", "x ~ 1", "x = 1 y"] {
            assert!(parse_cql(bad, &env).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_show_the_filter_as_written() {
        let msg = |s: &str| parse_cql(s, &env).unwrap_err().to_string();
        assert!(
            msg("cat = = 1").contains("expected a literal, found '='"),
            "{}",
            msg("cat = = 1")
        );
        assert!(
            msg("cat =").contains("found the end of the filter"),
            "{}",
            msg("cat =")
        );
        assert!(!msg("(x = 1").contains("Some("), "{}", msg("(x = 1"));
    }
}
