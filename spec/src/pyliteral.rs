//! Python literals as `ast.literal_eval` reads them, written back as Python's `json.dumps` writes them: how
//! Polyaxon's parser and agent turn env values into text (`crate::container_text`), and how its parser turns a
//! whole template's rendered text back into a list or dict (`whole_templates`, `literal_value`).

use serde_json::{Map, Value};

/// `s` as the agent writes it when it is a Python literal: a string literal's text, anything else as compact
/// JSON. `None` when it is not one (kept as written).
pub(crate) fn as_python_literal(s: &str) -> Option<String> {
    literal(s).map(|v| env_text(&v))
}

/// `s` read as `ast.literal_eval` reads it, when the whole of it is one literal JSON can hold.
pub(crate) fn literal(s: &str) -> Option<Value> {
    let mut p = Literal { s: s.as_bytes(), at: 0 };
    let v = p.value()?;
    p.space();
    (p.at == p.s.len()).then_some(v)
}

/// Where a step of a path into a JSON value goes: a key or an index.
#[derive(Clone)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// The paths of the run's strings that are one whole template (`files: "{{ files }}"`, `environment:
/// "{{ env }}"`), outside containers (their command and args are text to Polyaxon). Keys are borrowed on the
/// way down; only the paths found are copied.
pub(crate) fn whole_templates(v: &Value) -> Vec<Vec<Step>> {
    fn walk<'v>(v: &'v Value, at: &mut Vec<(Option<&'v str>, usize)>, out: &mut Vec<Vec<Step>>) {
        match v {
            Value::String(t) => {
                let t = t.trim();
                if t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1 {
                    out.push(
                        at.iter()
                            .map(|(k, i)| k.map_or(Step::Index(*i), |k| Step::Key(k.to_string())))
                            .collect(),
                    );
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    at.push((None, i));
                    walk(x, at, out);
                    at.pop();
                }
            }
            Value::Object(map) => {
                for (k, x) in map.iter().filter(|(k, _)| k.as_str() != "container") {
                    at.push((Some(k.as_str()), 0));
                    walk(x, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// A whole template that rendered to a Python list or dict becomes that list or dict: Polyaxon's parser reads
/// what a template renders to with `ast.literal_eval`, so a list param gives a list of files, not its text.
pub(crate) fn literal_value(v: &mut Value, path: &[Step]) {
    let mut node = v;
    for step in path {
        let next = match step {
            Step::Key(k) => node.get_mut(k.as_str()),
            Step::Index(i) => node.get_mut(*i),
        };
        let Some(next) = next else { return };
        node = next;
    }
    let parsed = node.as_str().and_then(literal);
    if let Some(x) = parsed.filter(|x| x.is_array() || x.is_object()) {
        *node = x;
    }
}

/// A value the agent writes into an env var: a string as it is, anything else as JSON (`toEnv` too).
pub(crate) fn env_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            python_json(other, &mut out);
            out
        }
    }
}

/// JSON as Python's `json.dumps(v, separators=(",", ":"))` writes it: floats as Python prints them.
pub(crate) fn python_json(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) if n.is_f64() => {
            out.push_str(&crate::render::python_float(n.as_f64().unwrap_or_default()))
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                python_json(x, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                python_json(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A reader of the Python literals `ast.literal_eval` takes that JSON can hold: numbers, strings, `True`,
/// `False`, `None`, lists, tuples, dicts with string keys.
struct Literal<'a> {
    s: &'a [u8],
    at: usize,
}

impl Literal<'_> {
    fn space(&mut self) {
        while self.at < self.s.len() && matches!(self.s[self.at], b' ' | b'\t') {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.space();
        let hit = self.s.get(self.at) == Some(&b);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn value(&mut self) -> Option<Value> {
        self.space();
        match *self.s.get(self.at)? {
            b'[' => self.seq(b'[', b']'),
            b'(' => self.seq(b'(', b')'),
            b'{' => self.dict(),
            b'\'' | b'"' => self.string().map(Value::String),
            b'-' | b'+' | b'0'..=b'9' | b'.' => self.number(),
            _ => {
                for (word, v) in
                    [("True", Value::Bool(true)), ("False", Value::Bool(false)), ("None", Value::Null)]
                {
                    let end = self.at + word.len();
                    let boundary = self.s.get(end).is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
                    if self.s[self.at..].starts_with(word.as_bytes()) && boundary {
                        self.at = end;
                        return Some(v);
                    }
                }
                None
            }
        }
    }

    fn seq(&mut self, open: u8, close: u8) -> Option<Value> {
        self.eat(open);
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(Value::Array(items));
            }
            items.push(self.value()?);
            if !self.eat(b',') {
                // `(1)` is a parenthesised value, not a tuple.
                return self.eat(close).then(|| match (open, items.len()) {
                    (b'(', 1) => items.pop().unwrap_or(Value::Null),
                    _ => Value::Array(items),
                });
            }
        }
    }

    fn dict(&mut self) -> Option<Value> {
        self.eat(b'{');
        let mut map = Map::new();
        loop {
            if self.eat(b'}') {
                return Some(Value::Object(map));
            }
            self.space();
            // JSON keys are strings: other keys (and sets) are not written as JSON; kept as written.
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            map.insert(key, self.value()?);
            if !self.eat(b',') {
                return self.eat(b'}').then_some(Value::Object(map));
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let quote = *self.s.get(self.at)?;
        if quote != b'\'' && quote != b'"' {
            return None;
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let b = *self.s.get(self.at)?;
            self.at += 1;
            match b {
                _ if b == quote => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.s.get(self.at)?;
                    self.at += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'0' => 0,
                        b'\\' | b'\'' | b'"' => e,
                        _ => return None,
                    });
                }
                b'\n' => return None,
                _ => out.push(b),
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.at;
        let negative = match self.s[self.at] {
            b'-' => {
                self.at += 1;
                true
            }
            b'+' => {
                self.at += 1;
                false
            }
            _ => false,
        };
        let body_start = self.at;
        while self.at < self.s.len()
            && (self.s[self.at].is_ascii_alphanumeric() || matches!(self.s[self.at], b'_' | b'.'))
            || (self.at > body_start
                && matches!(self.s.get(self.at), Some(b'+' | b'-'))
                && matches!(self.s[self.at - 1], b'e' | b'E'))
        {
            self.at += 1;
        }
        let body = std::str::from_utf8(&self.s[body_start..self.at]).ok()?;
        if body.starts_with('_') || body.ends_with('_') || body.contains("__") || self.at == start {
            return None;
        }
        let digits = body.replace('_', "");
        let lower = digits.to_ascii_lowercase();
        let radix = [("0x", 16), ("0o", 8), ("0b", 2)].into_iter().find(|(p, _)| lower.starts_with(p));
        let int = match radix {
            Some((p, r)) => Some(i128::from_str_radix(&lower[p.len()..], r).ok()?),
            None if lower.bytes().all(|b| b.is_ascii_digit()) => {
                // Python refuses `010` (leading zeros), but takes `0` and `00`.
                if lower.len() > 1 && lower.starts_with('0') && lower.bytes().any(|b| b != b'0') {
                    return None;
                }
                Some(lower.parse::<i128>().ok()?)
            }
            None => None,
        };
        let v = match int {
            Some(i) => {
                let i = if negative { -i } else { i };
                Value::Number(i64::try_from(i).ok()?.into())
            }
            None => {
                if !lower.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
                    || lower.matches('.').count() > 1
                {
                    return None;
                }
                let f: f64 = lower.parse().ok()?;
                serde_json::Number::from_f64(if negative { -f } else { f }).map(Value::Number)?
            }
        };
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_read_as_python_literals_the_way_polyaxon_does() {
        // Each checked with the oracle (polyaxon 2.18: env values through ast.literal_eval, then orjson).
        for (given, written) in [
            ("True", Some("true")),
            ("None", Some("null")),
            ("1_000", Some("1000")),
            ("'quoted'", Some("quoted")),
            ("[1, 'a', None, 2.50]", Some(r#"[1,"a",null,2.5]"#)),
            ("0x1F", Some("31")),
            ("(1, 2)", Some("[1,2]")),
            ("{'k': [True, False]}", Some(r#"{"k":[true,false]}"#)),
            ("-7", Some("-7")),
            ("3.14159", Some("3.14159")),
            ("1.0", Some("1.0")),
            ("010", None),
            ("hello world", None),
            ("true", None),
            ("{1, 2}", None),
            ("[1, 2", None),
            ("1e-3", Some("0.001")),
            ("1e16", Some("1e+16")),
            ("[1.5e-7, 123.25, 1e15, -0.0001]", Some("[1.5e-07,123.25,1000000000000000.0,-0.0001]")),
        ] {
            assert_eq!(as_python_literal(given).as_deref(), written, "{given:?}");
        }
    }
}
