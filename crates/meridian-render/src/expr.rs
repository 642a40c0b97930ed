//! Values of symbolizer parameters: a literal, a property of the feature, or an arithmetic or
//! function expression over them (the OGC expressions SLD allows where a value goes).

use meridian_features::{Feature, Value};

/// An expression, evaluated per feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal as written.
    Literal(String),
    /// A property of the feature.
    Property(String),
    /// `Add`, `Sub`, `Mul`, `Div` of two expressions.
    Arith(char, Box<Expr>, Box<Expr>),
    /// `Recode(input, from1, to1, from2, to2, ...)`: the `to` of the first `from` equal to input.
    Recode(Box<Expr>, Vec<(Expr, Expr)>),
    /// Text made of parts in order (a label with literal text around properties).
    Concat(Vec<Expr>),
    /// One of GeoServer's functions Meridian knows ([`FUNCTIONS`]).
    Function(String, Vec<Expr>),
}

/// The functions Meridian evaluates (names as GeoServer spells them).
pub const FUNCTIONS: &[&str] = &[
    "if_then_else",
    "equalTo",
    "notEqualTo",
    "lessThan",
    "lessEqualThan",
    "greaterThan",
    "greaterEqualThan",
    "and",
    "or",
    "not",
    "isNull",
    "language",
    "Concatenate",
    "strConcat",
    "strToUpperCase",
    "strToLowerCase",
    "strTrim",
    "strLength",
];

fn boolean(b: bool) -> Option<String> {
    Some(if b { "true" } else { "false" }.to_string())
}

fn truthy(v: Option<String>) -> bool {
    v.is_some_and(|s| s.trim().eq_ignore_ascii_case("true"))
}

/// Compare as numbers when both are numbers, else as text.
fn order(a: &str, b: &str) -> std::cmp::Ordering {
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn function(name: &str, args: &[Expr], f: &Feature) -> Option<String> {
    use std::cmp::Ordering::{Greater, Less};
    let arg = |i: usize| args.get(i).and_then(|a| a.eval(f));
    let cmp = |ok: &dyn Fn(std::cmp::Ordering) -> bool| -> Option<String> {
        let (a, b) = (arg(0)?, arg(1)?);
        boolean(ok(order(&a, &b)))
    };
    match name {
        "if_then_else" => {
            if truthy(arg(0)) {
                arg(1)
            } else {
                arg(2)
            }
        }
        "equalTo" => boolean(match (arg(0), arg(1)) {
            (Some(a), Some(b)) => same(&a, &b),
            (None, None) => true,
            _ => false,
        }),
        "notEqualTo" => boolean(!match (arg(0), arg(1)) {
            (Some(a), Some(b)) => same(&a, &b),
            (None, None) => true,
            _ => false,
        }),
        "lessThan" => cmp(&|o| o == Less),
        "lessEqualThan" => cmp(&|o| o != Greater),
        "greaterThan" => cmp(&|o| o == Greater),
        "greaterEqualThan" => cmp(&|o| o != Less),
        "and" => boolean(truthy(arg(0)) && truthy(arg(1))),
        "or" => boolean(truthy(arg(0)) || truthy(arg(1))),
        "not" => boolean(!truthy(arg(0))),
        "isNull" => boolean(arg(0).is_none()),
        // The request's language: none asked, so the default texts are used.
        "language" => Some(String::new()),
        "Concatenate" | "strConcat" => Some(args.iter().filter_map(|a| a.eval(f)).collect()),
        "strToUpperCase" => arg(0).map(|s| s.to_uppercase()),
        "strToLowerCase" => arg(0).map(|s| s.to_lowercase()),
        "strTrim" => arg(0).map(|s| s.trim().to_string()),
        "strLength" => arg(0).map(|s| s.chars().count().to_string()),
        _ => None,
    }
}

impl Expr {
    /// A literal as written, or GeoServer's embedded expression `${...}` (CQL: function calls,
    /// property names, quoted strings, numbers) when it is one Meridian reads.
    pub fn from_text(text: &str) -> Expr {
        let t = text.trim();
        if let Some(inner) = t.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            let mut p = CqlExpr {
                s: inner.as_bytes(),
                i: 0,
                depth: 0,
            };
            if let Some(e) = p.expr() {
                p.ws();
                if p.i == p.s.len() {
                    return e;
                }
            }
        }
        Expr::Literal(t.to_string())
    }

    /// The value for `f` (`None` when a property is missing or the arithmetic fails).
    pub fn eval(&self, f: &Feature) -> Option<String> {
        match self {
            Expr::Literal(s) => Some(s.clone()),
            Expr::Property(p) => match f.get(p) {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_text()),
            },
            Expr::Arith(op, a, b) => {
                let (x, y) = (num(&a.eval(f)?)?, num(&b.eval(f)?)?);
                let r = match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    '/' if y != 0.0 => x / y,
                    _ => return None,
                };
                Some(format_number(r))
            }
            Expr::Recode(input, pairs) => {
                let v = input.eval(f)?;
                pairs
                    .iter()
                    .find(|(from, _)| from.eval(f).is_some_and(|k| same(&k, &v)))
                    .and_then(|(_, to)| to.eval(f))
            }
            Expr::Concat(parts) => Some(parts.iter().filter_map(|p| p.eval(f)).collect()),
            Expr::Function(name, args) => function(name, args, f),
        }
    }

    /// The value as a number for `f`.
    pub fn number(&self, f: &Feature) -> Option<f64> {
        num(&self.eval(f)?)
    }

    /// Whether it is the same for every feature.
    pub fn is_literal(&self) -> bool {
        matches!(self, Expr::Literal(_))
    }
}

/// A small reader of CQL expressions (what `${...}` holds in GeoServer's styles).
struct CqlExpr<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

/// How deep `${...}` expressions may nest (a document cannot exhaust the stack).
const MAX_NESTING: usize = 32;

impl CqlExpr<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn expr(&mut self) -> Option<Expr> {
        if self.depth >= MAX_NESTING {
            return None;
        }
        self.depth += 1;
        let e = self.expr_inner();
        self.depth -= 1;
        e
    }

    fn expr_inner(&mut self) -> Option<Expr> {
        self.ws();
        match *self.s.get(self.i)? {
            b'\'' => {
                let start = self.i + 1;
                let end = start + self.s[start..].iter().position(|c| *c == b'\'')?;
                self.i = end + 1;
                Some(Expr::Literal(
                    String::from_utf8_lossy(&self.s[start..end]).into_owned(),
                ))
            }
            c if c.is_ascii_digit() || c == b'-' || c == b'.' => {
                let start = self.i;
                self.i += 1;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_digit() || *c == b'.' || *c == b'e' || *c == b'E')
                {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                t.parse::<f64>().ok()?;
                Some(Expr::Literal(t.to_string()))
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':')
                {
                    self.i += 1;
                }
                let name = std::str::from_utf8(&self.s[start..self.i])
                    .ok()?
                    .to_string();
                self.ws();
                if self.s.get(self.i) != Some(&b'(') {
                    return Some(Expr::Property(name));
                }
                self.i += 1;
                let mut args = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b')') {
                        self.i += 1;
                        break;
                    }
                    args.push(self.expr()?);
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b')' => {
                            self.i += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                if name.eq_ignore_ascii_case("recode") {
                    let (input, rest) = args.split_first()?;
                    let pairs = rest
                        .chunks_exact(2)
                        .map(|p| (p[0].clone(), p[1].clone()))
                        .collect();
                    return Some(Expr::Recode(Box::new(input.clone()), pairs));
                }
                let known = FUNCTIONS.iter().find(|k| k.eq_ignore_ascii_case(&name))?;
                Some(Expr::Function(known.to_string(), args))
            }
            _ => None,
        }
    }
}

fn num(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Equal as numbers when both are numbers, else as text.
fn same(a: &str, b: &str) -> bool {
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature() -> Feature {
        Feature {
            id: "t.1".into(),
            geometry: None,
            properties: vec![
                ("PERSONS".into(), Value::Int(3_000_000)),
                ("NAME".into(), Value::Text("Texas".into())),
            ],
        }
    }

    #[test]
    fn expressions_evaluate_per_feature() {
        let f = feature();
        assert_eq!(
            Expr::Property("NAME".into()).eval(&f).as_deref(),
            Some("Texas")
        );
        assert_eq!(Expr::Property("nope".into()).eval(&f), None);
        let half = Expr::Arith(
            '/',
            Box::new(Expr::Property("PERSONS".into())),
            Box::new(Expr::Literal("2".into())),
        );
        assert_eq!(half.number(&f), Some(1_500_000.0));
        let recode = Expr::Recode(
            Box::new(Expr::Property("NAME".into())),
            vec![
                (
                    Expr::Literal("Ohio".into()),
                    Expr::Literal("#000000".into()),
                ),
                (
                    Expr::Literal("Texas".into()),
                    Expr::Literal("#FF0000".into()),
                ),
            ],
        );
        assert_eq!(recode.eval(&f).as_deref(), Some("#FF0000"));
    }

    #[test]
    fn geoserver_functions_used_by_the_release_styles() {
        let f = feature();
        let lit = |s: &str| Expr::Literal(s.into());
        let prop = |s: &str| Expr::Property(s.into());
        let func = |n: &str, a: Vec<Expr>| Expr::Function(n.into(), a);
        // countries.sld: if_then_else(lessThan(NAME_LEN, 8), Recode(language(), '', NAME, ...), ABBREV)
        let short = func("lessThan", vec![lit("5"), lit("8")]);
        let label = func(
            "if_then_else",
            vec![
                short,
                Expr::Recode(
                    Box::new(func("language", vec![])),
                    vec![(lit(""), prop("NAME")), (lit("it"), lit("Texas-it"))],
                ),
                lit("TX"),
            ],
        );
        assert_eq!(label.eval(&f).as_deref(), Some("Texas"));
        assert_eq!(
            func("equalTo", vec![prop("PERSONS"), lit("3000000.0")])
                .eval(&f)
                .as_deref(),
            Some("true")
        );
        assert_eq!(
            func("greaterThan", vec![prop("PERSONS"), lit("4000000")])
                .eval(&f)
                .as_deref(),
            Some("false")
        );
        assert_eq!(
            func("strToUpperCase", vec![prop("NAME")])
                .eval(&f)
                .as_deref(),
            Some("TEXAS")
        );
    }

    #[test]
    fn embedded_cql_expressions_read() {
        let f = feature();
        let e = Expr::from_text("${if_then_else(equalTo(NAME,'Texas'),'star','circle')}");
        assert_eq!(e.eval(&f).as_deref(), Some("star"));
        assert_eq!(Expr::from_text("circle"), Expr::Literal("circle".into()));
        assert_eq!(
            Expr::from_text("${nope(}"),
            Expr::Literal("${nope(}".into())
        );
        assert_eq!(
            Expr::from_text("${strToUpperCase(NAME)}")
                .eval(&f)
                .as_deref(),
            Some("TEXAS")
        );
    }
}
