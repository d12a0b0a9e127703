//! MLflow's registry search filters: clauses joined by `AND`, each `field op value`. Fields: `name`, `run_id`,
//! `source_path`, `version_number`, `tags.key` (backticks around a key with other characters: tags.`my key`);
//! for logged models also `source_run_id`, `model_id`, `status` and `model_type`.
//! Operators: `=`, `!=`, `LIKE`, `ILIKE` (`%` any run, `_` one character), `IN (…)`, `NOT IN (…)`, and for
//! `version_number` also `<`, `<=`, `>`, `>=`. Strings in single or double quotes.

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Name,
    RunId,
    Source,
    Version,
    Tag(String),
    /// A logged model's attribute (`source_run_id`, `model_id`, `status`, `model_type`).
    Attr(&'static str),
}

/// The tag MLflow marks prompts with (a model without it is not a prompt).
const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

/// Logged models' attributes a filter may name.
const ATTRS: [&str; 4] = ["source_run_id", "model_id", "status", "model_type"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Like,
    ILike,
    In,
    NotIn,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    field: Field,
    op: Op,
    values: Vec<String>,
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter(Vec<Clause>);

/// What the caller's search may filter on (`fields`), for the error naming them.
pub fn parse(text: &str, fields: &[&str]) -> Result<Filter> {
    let bad = |msg: String| Error::invalid("filter", format!("invalid filter {text:?}: {msg}"));
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (field, after) = field(rest).ok_or_else(|| bad(format!("expected a field at {rest:?}")))?;
        let name = match &field {
            Field::Name => "name",
            Field::RunId => "run_id",
            Field::Source => "source_path",
            Field::Version => "version_number",
            Field::Tag(_) => "tags",
            Field::Attr(a) => a,
        };
        if !fields.contains(&name) {
            return Err(bad(format!("{name} cannot be searched here (fields: {})", fields.join(", "))));
        }
        let after = after.trim_start();
        let (op, after) = op(after).ok_or_else(|| bad(format!("expected an operator at {after:?}")))?;
        let numeric = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
        if numeric && field != Field::Version {
            return Err(bad("<, <=, > and >= compare version_number only".into()));
        }
        let after = after.trim_start();
        let (values, after) = if matches!(op, Op::In | Op::NotIn) {
            list(after).ok_or_else(|| bad(format!("expected a list ('a', 'b') at {after:?}")))?
        } else {
            let (v, a) = value(after).ok_or_else(|| bad(format!("expected a value at {after:?}")))?;
            (vec![v], a)
        };
        out.push(Clause { field, op, values });
        rest = after.trim_start();
        if rest.is_empty() {
            break;
        }
        let Some(next) = strip_word(rest, "AND") else {
            return Err(bad(format!("expected AND at {rest:?} (OR is not supported)")));
        };
        rest = next.trim_start();
    }
    Ok(Filter(out))
}

impl Filter {
    /// Whether a row passes every clause; `get` gives a field's value (`None`: the row has no such tag).
    pub fn matches(&self, get: impl Fn(&Field) -> Option<String>) -> bool {
        self.0.iter().all(|c| {
            // A row without the tag matches no clause on it (as a join on the tags would), except MLflow's
            // prompt marker: clients exclude prompts with `tags.`mlflow.prompt.is_prompt` != 'true'`.
            let Some(v) = get(&c.field) else {
                let prompt = matches!(&c.field, Field::Tag(k) if k == PROMPT_TAG);
                return prompt
                    && ((c.op == Op::Eq && c.values[0] == "false")
                        || (c.op == Op::Ne && c.values[0] == "true"));
            };
            let first = c.values[0].as_str();
            match c.op {
                Op::Eq => v == first,
                Op::Ne => v != first,
                Op::Like => like(&v, first),
                Op::ILike => like(&v.to_lowercase(), &first.to_lowercase()),
                Op::In => c.values.contains(&v),
                Op::NotIn => !c.values.contains(&v),
                Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let (Ok(a), Ok(b)) = (v.parse::<i64>(), first.parse::<i64>()) else { return false };
                    match c.op {
                        Op::Lt => a < b,
                        Op::Le => a <= b,
                        Op::Gt => a > b,
                        _ => a >= b,
                    }
                }
            }
        })
    }

    /// The names an `name = '…'` clause pins the search to (to narrow the query before filtering).
    pub fn exact(&self, field: &Field) -> Option<Vec<String>> {
        self.0.iter().find(|c| c.field == *field && matches!(c.op, Op::Eq | Op::In)).map(|c| c.values.clone())
    }
}

fn strip_word<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    let rest = &s[word.len()..];
    (head.eq_ignore_ascii_case(word)
        && rest.starts_with(|c: char| c.is_whitespace() || c == '(' || c == '\'' || c == '"'))
    .then_some(rest)
}

fn field(s: &str) -> Option<(Field, &str)> {
    let ident_end =
        |s: &str| s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(s.len());
    for prefix in ["tags.", "tag."] {
        if let Some(rest) = s.strip_prefix(prefix) {
            if let Some(quoted) = rest.strip_prefix('`') {
                let end = quoted.find('`')?;
                return Some((Field::Tag(quoted[..end].to_string()), &quoted[end + 1..]));
            }
            let end = ident_end(rest);
            return (end > 0).then(|| (Field::Tag(rest[..end].to_string()), &rest[end..]));
        }
    }
    let end = ident_end(s);
    let word = s[..end].strip_prefix("attributes.").unwrap_or(&s[..end]);
    let f = match word {
        "name" => Field::Name,
        "run_id" => Field::RunId,
        "source_path" => Field::Source,
        "version_number" => Field::Version,
        other => Field::Attr(ATTRS.into_iter().find(|a| *a == other)?),
    };
    Some((f, &s[end..]))
}

fn op(s: &str) -> Option<(Op, &str)> {
    for (text, op) in
        [("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("=", Op::Eq), ("<", Op::Lt), (">", Op::Gt)]
    {
        if let Some(rest) = s.strip_prefix(text) {
            return Some((op, rest));
        }
    }
    if let Some(rest) = strip_word(s, "NOT") {
        return strip_word(rest.trim_start(), "IN").map(|r| (Op::NotIn, r));
    }
    [("LIKE", Op::Like), ("ILIKE", Op::ILike), ("IN", Op::In)]
        .into_iter()
        .find_map(|(w, op)| strip_word(s, w).map(|r| (op, r)))
}

fn value(s: &str) -> Option<(String, &str)> {
    let quote = s.chars().next()?;
    if quote == '\'' || quote == '"' {
        let end = s[1..].find(quote)? + 1;
        return Some((s[1..end].to_string(), &s[end + 1..]));
    }
    // A bare number (version_number = 3).
    let end = s.find(|c: char| !(c.is_ascii_digit() || c == '-')).unwrap_or(s.len());
    (end > 0).then(|| (s[..end].to_string(), &s[end..]))
}

fn list(s: &str) -> Option<(Vec<String>, &str)> {
    let mut rest = s.strip_prefix('(')?.trim_start();
    let mut out = Vec::new();
    loop {
        let (v, after) = value(rest)?;
        out.push(v);
        rest = after.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        } else {
            return rest.strip_prefix(')').map(|after| (out, after));
        }
    }
}

/// SQL's LIKE: `%` any run of characters, `_` exactly one.
fn like(v: &str, pattern: &str) -> bool {
    let (v, p): (Vec<char>, Vec<char>) = (v.chars().collect(), pattern.chars().collect());
    // Positions of the pattern reachable after each character of the value.
    let mut at = vec![false; p.len() + 1];
    at[0] = true;
    let close = |at: &mut Vec<bool>| {
        for i in 0..p.len() {
            if at[i] && p[i] == '%' {
                at[i + 1] = true;
            }
        }
    };
    close(&mut at);
    for c in v {
        let mut next = vec![false; p.len() + 1];
        for i in 0..p.len() {
            if at[i] {
                match p[i] {
                    '%' => next[i] = true,
                    '_' => next[i + 1] = true,
                    x if x == c => next[i + 1] = true,
                    _ => {}
                }
            }
        }
        close(&mut next);
        at = next;
    }
    at[p.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["name", "run_id", "source_path", "version_number", "tags"];

    fn row(f: &Field) -> Option<String> {
        Some(match f {
            Field::Name => "clf-Prod".into(),
            Field::RunId => "abc".into(),
            Field::Source => "runs:/abc/model".into(),
            Field::Version => "3".into(),
            Field::Tag(k) if k == "my key" => "v 1".into(),
            Field::Tag(_) => return None,
            Field::Attr("status") => "LOGGED_MODEL_READY".into(),
            Field::Attr(_) => return None,
        })
    }

    #[test]
    fn logged_models_filter_on_their_attributes_where_allowed() {
        let fields = &["name", "source_run_id", "status"];
        assert!(parse("status = 'LOGGED_MODEL_READY'", fields).unwrap().matches(row));
        assert!(!parse("source_run_id = 'x'", fields).unwrap().matches(row));
        let e = parse("status = 'x'", ALL).unwrap_err().to_string();
        assert!(e.contains("status cannot be searched here"), "{e}");
    }

    #[test]
    fn clauses_match_as_mlflow_means_them() {
        for (f, want) in [
            ("", true),
            ("name = 'clf-Prod'", true),
            ("name='clf-prod'", false),
            ("name LIKE 'clf%'", true),
            ("name LIKE 'CLF%'", false),
            ("name ILIKE 'CLF%'", true),
            ("name like 'clf-_rod'", true),
            ("name != 'x' AND run_id IN ('a', 'abc')", true),
            ("run_id NOT IN ('abc')", false),
            ("tags.`my key` = 'v 1'", true),
            ("tags.other = 'v'", false),
            ("version_number >= 3 and version_number < 4", true),
            ("version_number > 3", false),
            ("attributes.name = \"clf-Prod\"", true),
            ("name LIKE 'clf%' AND tags.`mlflow.prompt.is_prompt` != 'true'", true),
            ("tags.`mlflow.prompt.is_prompt` = 'true'", false),
        ] {
            assert_eq!(parse(f, ALL).unwrap().matches(row), want, "{f}");
        }
    }

    #[test]
    fn mistakes_are_named() {
        for (f, says) in [
            ("name = ", "expected a value"),
            ("name == 'x'", "expected a value"),
            ("nam = 'x'", "expected a field"),
            ("name = 'x' OR run_id = 'y'", "OR is not supported"),
            ("name < 'x'", "version_number only"),
            ("run_id IN 'a'", "expected a list"),
        ] {
            let e = parse(f, ALL).unwrap_err().to_string();
            assert!(e.contains(says), "{f}: {e}");
        }
        let e = parse("run_id = 'a'", &["name", "tags"]).unwrap_err().to_string();
        assert!(e.contains("run_id cannot be searched here"), "{e}");
    }
}
