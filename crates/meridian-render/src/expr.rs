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
}

impl Expr {
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
}
