//! Polyaxon's query language for the runs table: `status:running|queued, metrics.loss:<0.2, params.lr:0.01,
//! tags:baseline, name:%resnet%, created_at:>2026-01-01`. Conditions are joined by `,` (AND); a value may be
//! negated with `~`, list alternatives with `|`, compare with `<`, `<=`, `>`, `>=`, give a range `a..b`, or
//! (for text) a pattern with `%`. It compiles to the same clauses as MLflow's filter syntax.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::filter::{Clause, Field, Lit, Op};
use crate::error::{Error, Result};

fn err(query: &str, at: usize, what: impl std::fmt::Display) -> Error {
    Error::invalid("query", format!("invalid query {query:?} at character {}: {what}", at + 1))
}

const KEYS: &str =
    "status, kind, name, user, uuid, created_at, finished_at, metrics.<key>, params.<key>, tags, tags.<key>";

pub fn parse(query: &str) -> Result<Vec<Clause>> {
    let mut out = Vec::new();
    let mut at = 0;
    for part in query.split(',') {
        let start = at + (part.len() - part.trim_start().len());
        at += part.len() + 1;
        let cond = part.trim();
        if cond.is_empty() {
            continue;
        }
        let Some((key, value)) = cond.split_once(':') else {
            return Err(err(query, start, format!("expected key:value, e.g. status:running (keys: {KEYS})")));
        };
        let vat = start + key.len() + 1 + (value.len() - value.trim_start().len());
        let (key, value) = (key.trim(), value.trim());
        if value.is_empty() {
            return Err(err(query, vat, format!("{key} needs a value")));
        }
        let (neg, value) = match value.strip_prefix('~') {
            Some(v) => (true, v.trim()),
            None => (false, value),
        };
        condition(query, vat, key, neg, value, &mut out)?;
    }
    Ok(out)
}

/// Splits a comparison prefix off a value.
fn comparison(value: &str) -> (Option<Op>, &str) {
    for (sym, op) in [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)] {
        if let Some(v) = value.strip_prefix(sym) {
            return (Some(op), v.trim());
        }
    }
    (None, value)
}

fn condition(q: &str, at: usize, key: &str, neg: bool, value: &str, out: &mut Vec<Clause>) -> Result<()> {
    let list = || Lit::List(value.split('|').map(|v| v.trim().to_string()).collect());
    let set_op = if neg { Op::NotIn } else { Op::In };
    let (field, numeric) = match key {
        "status" => {
            for s in value.split('|').map(str::trim) {
                if spec::lifecycle::Status::parse(s).is_none() {
                    let known: Vec<&str> = spec::lifecycle::ALL.iter().map(|s| s.as_str()).collect();
                    return Err(err(q, at, format!("unknown status {s:?} (known: {})", known.join(", "))));
                }
            }
            out.push(Clause { field: Field::RunStatus, op: set_op, value: list() });
            return Ok(());
        }
        "tags" => {
            out.push(Clause { field: Field::HasTag, op: set_op, value: list() });
            return Ok(());
        }
        "kind" => {
            out.push(Clause { field: Field::RunKind, op: set_op, value: list() });
            return Ok(());
        }
        "name" => (Field::RunName, false),
        "user" => (Field::UserId, false),
        "uuid" | "id" => (Field::RunId, false),
        "created_at" => (Field::StartTime, true),
        "finished_at" => (Field::EndTime, true),
        k => match k.split_once('.') {
            Some(("metrics" | "metric", m)) if !m.is_empty() => (Field::Metric(m.to_string()), true),
            Some(("params" | "param", p)) if !p.is_empty() => (Field::Param(p.to_string()), false),
            Some(("tags" | "tag", t)) if !t.is_empty() => (Field::Tag(t.to_string()), false),
            _ => {
                return Err(err(
                    q,
                    at.saturating_sub(key.len() + 1),
                    format!("unknown key {key:?} (keys: {KEYS})"),
                ))
            }
        },
    };
    let is_time = matches!(field, Field::StartTime | Field::EndTime);
    if numeric {
        let num = |v: &str| -> Result<f64> {
            if is_time {
                time(v).ok_or_else(|| {
                    err(q, at, format!("{v:?} is not a date (use 2026-01-31 or 2026-01-31T12:00:00Z)"))
                })
            } else {
                v.parse().map_err(|_| err(q, at, format!("{v:?} is not a number")))
            }
        };
        if value.contains('|') {
            return Err(err(
                q,
                at,
                format!("{key} takes one value, a comparison or a range a..b, not alternatives"),
            ));
        }
        if let Some((a, b)) = value.split_once("..") {
            out.push(Clause { field: field.clone(), op: Op::Ge, value: Lit::Num(num(a.trim())?) });
            out.push(Clause { field, op: Op::Le, value: Lit::Num(num(b.trim())?) });
            return Ok(());
        }
        let (op, v) = comparison(value);
        let op = match (op, neg) {
            (Some(op), false) => op,
            (None, false) if is_time => {
                // A bare date is that whole day.
                let day = num(v)?;
                out.push(Clause { field: field.clone(), op: Op::Ge, value: Lit::Num(day) });
                out.push(Clause { field, op: Op::Lt, value: Lit::Num(day + 86_400_000.0) });
                return Ok(());
            }
            (None, false) => Op::Eq,
            (None, true) => Op::Ne,
            (Some(_), true) => return Err(err(q, at, "~ cannot negate a comparison; flip it instead")),
        };
        out.push(Clause { field, op, value: Lit::Num(num(v)?) });
        return Ok(());
    }
    if comparison(value).0.is_some() {
        return Err(err(
            q,
            at,
            format!("{key} compares as text: use a value, a|b, ~value or a pattern with %"),
        ));
    }
    let clause = if value.contains('%') && !value.contains('|') {
        if neg {
            return Err(err(q, at, "~ cannot negate a % pattern"));
        }
        Clause { field, op: Op::Like, value: Lit::Str(value.to_string()) }
    } else {
        Clause { field, op: set_op, value: list() }
    };
    out.push(clause);
    Ok(())
}

/// Milliseconds since the epoch for `2026-01-31`, `2026-01-31 12:00`, `2026-01-31T12:00:00` or RFC 3339.
fn time(v: &str) -> Option<f64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp_millis() as f64);
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Some(Utc.from_utc_datetime(&t).timestamp_millis() as f64);
        }
    }
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?).timestamp_millis() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_polyaxon_queries() {
        let c = parse("status:running|queued, metrics.loss:<0.2, params.lr:0.01, tags:baseline, name:%resnet%, created_at:>2026-01-01").unwrap();
        assert_eq!(
            c[0],
            Clause {
                field: Field::RunStatus,
                op: Op::In,
                value: Lit::List(vec!["running".into(), "queued".into()])
            }
        );
        assert_eq!(c[1], Clause { field: Field::Metric("loss".into()), op: Op::Lt, value: Lit::Num(0.2) });
        assert_eq!(
            c[2],
            Clause { field: Field::Param("lr".into()), op: Op::In, value: Lit::List(vec!["0.01".into()]) }
        );
        assert_eq!(c[3].field, Field::HasTag);
        assert_eq!(c[4], Clause { field: Field::RunName, op: Op::Like, value: Lit::Str("%resnet%".into()) });
        assert_eq!(c[5].op, Op::Gt);
        let r = parse("metrics.acc:0.5..0.9, status:~failed, created_at:2026-02-01").unwrap();
        assert_eq!(
            (r[0].op, r[1].op, r[2].op, r[3].op, r[4].op),
            (Op::Ge, Op::Le, Op::NotIn, Op::Ge, Op::Lt)
        );
    }

    #[test]
    fn bad_queries_say_where_and_why() {
        for (q, at, why) in [
            ("status:runing", "character 8", "unknown status"),
            ("metrics.loss:<abc", "character 14", "not a number"),
            ("status:running, foo:1", "character 17", "unknown key"),
            ("status", "character 1", "expected key:value"),
            ("params.lr:>0.1", "character 11", "compares as text"),
            ("created_at:yesterday", "character 12", "not a date"),
        ] {
            let e = parse(q).unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(why), "{q}: {e}");
        }
    }
}
