//! MLflow's search syntax for runs: `metrics.loss < 0.2 AND params.lr = '0.01' AND tags.team LIKE 'vi%'`,
//! and `order_by` terms such as `metrics.loss DESC`, parsed into clauses (`search` turns them into SQL; `pql`
//! parses Polyaxon's query language into the same clauses).

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Metric(String),
    Param(String),
    Tag(String),
    RunId,
    RunName,
    Status,
    StartTime,
    EndTime,
    UserId,
    /// Myelin's own status names (Polyaxon's query language), not MLflow's five.
    RunStatus,
    /// The run's kind (`job`, `dag`, `matrix`, ...), Polyaxon's `kind:dag|matrix`.
    RunKind,
    /// Runs that carry a tag with this key (Polyaxon's `tags:baseline`); the values are the keys.
    HasTag,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Num(f64),
    Str(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub field: Field,
    pub op: Op,
    pub value: Lit,
}

fn err(input: &str, at: usize, what: &str) -> Error {
    Error::invalid("filter", format!("invalid filter {input:?} at character {}: {what}", at + 1))
}

struct Lexer<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        while self.s[self.i..].starts_with(char::is_whitespace) {
            self.i += self.s[self.i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    fn done(&mut self) -> bool {
        self.skip_ws();
        self.i >= self.s.len()
    }
    fn peek_word(&mut self) -> &'a str {
        self.skip_ws();
        let rest = &self.s[self.i..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || "_.-/:".contains(c))).unwrap_or(rest.len());
        &rest[..end]
    }
    fn keyword(&mut self, kw: &str) -> bool {
        let w = self.peek_word();
        if w.eq_ignore_ascii_case(kw) {
            self.i += w.len();
            true
        } else {
            false
        }
    }
    fn quoted(&mut self) -> Result<String> {
        let q = self.s[self.i..].chars().next().unwrap_or('\'');
        let start = self.i;
        let rest = &self.s[self.i + 1..];
        let end = rest.find(q).ok_or_else(|| err(self.s, start, "unterminated quote"))?;
        self.i += end + 2;
        Ok(rest[..end].to_string())
    }
    fn field(&mut self) -> Result<Field> {
        self.skip_ws();
        let at = self.i;
        let word = self.peek_word();
        if word.is_empty() {
            return Err(err(
                self.s,
                at,
                "expected a field such as metrics.loss, params.lr, tags.x or status",
            ));
        }
        self.i += word.len();
        let (kind, key) = match word.split_once('.') {
            Some((k, "")) if self.s[self.i..].starts_with(['`', '"']) => (k, self.quoted()?),
            Some((k, key)) => (k, key.to_string()),
            None => ("attributes", word.to_string()),
        };
        Ok(match kind.to_ascii_lowercase().as_str() {
            "metric" | "metrics" => Field::Metric(key),
            "param" | "params" | "parameter" | "parameters" => Field::Param(key),
            "tag" | "tags" => Field::Tag(key),
            "attribute" | "attributes" | "attr" | "run" => match key.as_str() {
                "run_id" | "id" => Field::RunId,
                "run_name" | "name" => Field::RunName,
                "status" => Field::Status,
                "start_time" | "created" => Field::StartTime,
                "end_time" => Field::EndTime,
                "user_id" => Field::UserId,
                other => return Err(err(self.s, at, &format!("unknown attribute {other:?}"))),
            },
            other => {
                return Err(err(
                    self.s,
                    at,
                    &format!("unknown entity {other:?} (use metrics, params, tags or attributes)"),
                ))
            }
        })
    }
    fn op(&mut self) -> Result<Op> {
        self.skip_ws();
        let rest = &self.s[self.i..];
        for (sym, op) in [
            ("!=", Op::Ne),
            ("<>", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if rest.starts_with(sym) {
                self.i += sym.len();
                return Ok(op);
            }
        }
        let at = self.i;
        if self.keyword("LIKE") {
            return Ok(Op::Like);
        }
        if self.keyword("ILIKE") {
            return Ok(Op::ILike);
        }
        if self.keyword("IN") {
            return Ok(Op::In);
        }
        if self.keyword("NOT") {
            if self.keyword("IN") {
                return Ok(Op::NotIn);
            }
            return Err(err(self.s, at, "expected IN after NOT"));
        }
        Err(err(self.s, at, "expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)"))
    }
    fn value(&mut self) -> Result<Lit> {
        self.skip_ws();
        let at = self.i;
        let rest = &self.s[self.i..];
        if rest.starts_with(['\'', '"']) {
            return Ok(Lit::Str(self.quoted()?));
        }
        if rest.starts_with('(') {
            self.i += 1;
            let mut items = Vec::new();
            loop {
                self.skip_ws();
                if !self.s[self.i..].starts_with(['\'', '"']) {
                    return Err(err(self.s, self.i, "expected a quoted string in the list"));
                }
                items.push(self.quoted()?);
                self.skip_ws();
                if self.s[self.i..].starts_with(',') {
                    self.i += 1;
                } else if self.s[self.i..].starts_with(')') {
                    self.i += 1;
                    return Ok(Lit::List(items));
                } else {
                    return Err(err(self.s, self.i, "expected `,` or `)`"));
                }
            }
        }
        let end = rest.find(|c: char| c.is_whitespace() || c == ')').unwrap_or(rest.len());
        let num: f64 =
            rest[..end].parse().map_err(|_| err(self.s, at, "expected a number or a quoted string"))?;
        self.i += end;
        Ok(Lit::Num(num))
    }
}

/// The longest filter, and the longest `LIKE` pattern (with at most `MAX_WILDCARDS` `%`): a pattern of many
/// wildcards costs the database backtracking on every row.
pub const MAX_FILTER: usize = 4096;
pub const MAX_PATTERN: usize = 256;
pub const MAX_WILDCARDS: usize = 8;

pub fn parse_filter(input: &str) -> Result<Vec<Clause>> {
    if input.len() > MAX_FILTER {
        return Err(err(input, MAX_FILTER, &format!("the filter is longer than {MAX_FILTER} characters")));
    }
    let mut lx = Lexer { s: input, i: 0 };
    let mut out = Vec::new();
    while !lx.done() {
        if !out.is_empty() {
            let at = lx.i;
            if lx.keyword("OR") {
                return Err(err(input, at, "OR is not supported; combine conditions with AND"));
            }
            if !lx.keyword("AND") {
                return Err(err(input, at, "expected AND"));
            }
        }
        let at = lx.i;
        let field = lx.field()?;
        let op = lx.op()?;
        let value = lx.value()?;
        check(input, at, &field, op, &value)?;
        if let (Op::Like | Op::ILike, Lit::Str(p)) = (op, &value) {
            if p.len() > MAX_PATTERN || p.matches('%').count() > MAX_WILDCARDS {
                let why =
                    format!("a LIKE pattern has at most {MAX_PATTERN} characters and {MAX_WILDCARDS} `%`");
                return Err(err(input, at, &why));
            }
        }
        out.push(Clause { field, op, value });
    }
    Ok(out)
}

fn check(input: &str, at: usize, field: &Field, op: Op, value: &Lit) -> Result<()> {
    let numeric = matches!(field, Field::Metric(_) | Field::StartTime | Field::EndTime);
    let ok = match (numeric, op, value) {
        (true, Op::Like | Op::ILike | Op::In | Op::NotIn, _) => false,
        (true, _, Lit::Num(_)) => true,
        (false, Op::In | Op::NotIn, Lit::List(_)) => true,
        (false, Op::Eq | Op::Ne | Op::Like | Op::ILike, Lit::Str(_)) => true,
        (false, Op::Lt | Op::Le | Op::Gt | Op::Ge, Lit::Str(_)) => {
            matches!(field, Field::Param(_) | Field::Tag(_))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else if numeric {
        Err(err(input, at, "metrics and times compare with =, !=, <, <=, >, >= against a number"))
    } else {
        Err(err(input, at, "params, tags and attributes compare with =, !=, LIKE, ILIKE against a quoted string, or IN (...)"))
    }
}

/// An `order_by` term: `metrics.loss DESC`, `attributes.start_time`, `params.lr ASC`.
pub fn parse_order(input: &str) -> Result<(Field, bool)> {
    let mut lx = Lexer { s: input, i: 0 };
    let field = lx.field()?;
    let asc = if lx.keyword("DESC") {
        false
    } else {
        lx.keyword("ASC");
        true
    };
    if !lx.done() {
        return Err(err(input, lx.i, "expected ASC or DESC at the end"));
    }
    Ok((field, asc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mlflow_filters() {
        let c = parse_filter("metrics.loss < 0.2 and params.lr = '0.01' AND tags.`my tag` LIKE 'a%' AND attributes.status IN ('RUNNING', 'FINISHED')").unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0], Clause { field: Field::Metric("loss".into()), op: Op::Lt, value: Lit::Num(0.2) });
        assert_eq!(c[2].field, Field::Tag("my tag".into()));
        assert_eq!(c[3].value, Lit::List(vec!["RUNNING".into(), "FINISHED".into()]));
        assert_eq!(
            parse_filter("tags.mlflow.runName = 'x'").unwrap()[0].field,
            Field::Tag("mlflow.runName".into())
        );
        assert_eq!(parse_filter("  ").unwrap(), vec![]);
    }

    #[test]
    fn bad_filters_say_where() {
        for (f, at) in [
            ("metrics.loss <", "character 15"),
            ("metrics.loss < 0.2 OR params.a = 'b'", "character 20"),
            ("metrics.loss LIKE 'a'", "character 1"),
            ("params.a LIKE '%%%%%%%%%%%%%%x'", "at most 256 characters and 8 `%`"),
            ("foo.bar = 'x'", "character 1"),
            ("params.lr = 'unterminated", "character 13"),
        ] {
            let e = parse_filter(f).unwrap_err().to_string();
            assert!(e.contains(at), "{f}: {e}");
        }
        assert_eq!(parse_order("metrics.loss DESC").unwrap(), (Field::Metric("loss".into()), false));
        assert!(parse_order("metrics.loss sideways").is_err());
    }
}
