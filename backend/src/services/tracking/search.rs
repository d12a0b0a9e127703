//! MLflow's search syntax for runs: `metrics.loss < 0.2 AND params.lr = '0.01' AND tags.team LIKE 'vi%'`,
//! and `order_by` terms such as `metrics.loss DESC`. Parsed into clauses, then into SQL over `runs`.

use chrono::{TimeZone, Utc};
use sea_orm::sea_query::{
    Alias, Expr, Func, IntoCondition, Query, SelectStatement, SimpleExpr, SubQueryStatement,
};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use crate::entities::{latest_metric, run, user};
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

/// Myelin's statuses as MLflow's five.
pub fn mlflow_status(status: &str) -> &'static str {
    match status {
        "starting" | "running" | "stopping" | "warning" => "RUNNING",
        "succeeded" => "FINISHED",
        "failed" | "upstream_failed" | "unschedulable" => "FAILED",
        "stopped" | "skipped" => "KILLED",
        _ => "SCHEDULED",
    }
}

fn myelin_statuses(mlflow: &str) -> Vec<&'static str> {
    spec::lifecycle::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| mlflow_status(s).eq_ignore_ascii_case(mlflow))
        .collect()
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

pub fn parse_filter(input: &str) -> Result<Vec<Clause>> {
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

fn runs_id() -> Expr {
    Expr::col((run::Entity, run::Column::Id))
}

fn text_cmp(col: SimpleExpr, op: Op, value: &Lit) -> SimpleExpr {
    let e = Expr::expr(col.clone());
    match (op, value) {
        (Op::Eq, Lit::Str(s)) => e.eq(s.clone()),
        (Op::Ne, Lit::Str(s)) => e.ne(s.clone()),
        (Op::Lt, Lit::Str(s)) => e.lt(s.clone()),
        (Op::Le, Lit::Str(s)) => e.lte(s.clone()),
        (Op::Gt, Lit::Str(s)) => e.gt(s.clone()),
        (Op::Ge, Lit::Str(s)) => e.gte(s.clone()),
        (Op::Like, Lit::Str(s)) => e.like(s.clone()),
        (Op::ILike, Lit::Str(s)) => Expr::expr(Func::lower(col)).like(s.to_lowercase()),
        (Op::In, Lit::List(l)) => e.is_in(l.clone()),
        (Op::NotIn, Lit::List(l)) => e.is_not_in(l.clone()),
        _ => Expr::value(false),
    }
}

fn num_cmp(col: SimpleExpr, op: Op, v: impl Into<sea_orm::Value>) -> SimpleExpr {
    let e = Expr::expr(col);
    match op {
        Op::Eq => e.eq(v),
        Op::Ne => e.ne(v),
        Op::Lt => e.lt(v),
        Op::Le => e.lte(v),
        Op::Gt => e.gt(v),
        _ => e.gte(v),
    }
}

fn keyed(table: &str, key: &str) -> SelectStatement {
    Query::select()
        .column(Alias::new("run_id"))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("key")).eq(key))
        .to_owned()
}

/// The SQL condition on `runs` for the parsed clauses.
pub fn condition(clauses: &[Clause]) -> Result<Condition> {
    let mut cond = Condition::all();
    for c in clauses {
        let e: SimpleExpr = match &c.field {
            Field::Metric(k) => {
                let Lit::Num(v) = c.value else { unreachable!("checked") };
                let sub = keyed("latest_metrics", k)
                    .and_where(num_cmp(Expr::col(latest_metric::Column::Value).into(), c.op, v))
                    .to_owned();
                runs_id().in_subquery(sub)
            }
            Field::Tag(k) if k == super::RUN_NAME_TAG => {
                text_cmp(Expr::col((run::Entity, run::Column::Name)).into(), c.op, &c.value)
            }
            Field::Param(k) | Field::Tag(k) => {
                let table = if matches!(c.field, Field::Param(_)) { "run_params" } else { "run_tags" };
                let value = Expr::col((Alias::new(table), Alias::new("value")));
                let sub = keyed(table, k).and_where(text_cmp(value.into(), c.op, &c.value)).to_owned();
                runs_id().in_subquery(sub)
            }
            Field::RunName => text_cmp(Expr::col((run::Entity, run::Column::Name)).into(), c.op, &c.value),
            Field::RunId => {
                let ids = |l: &[String]| -> Result<Vec<Uuid>> {
                    l.iter()
                        .map(|s| {
                            Uuid::parse_str(s)
                                .map_err(|_| Error::invalid("filter", format!("{s:?} is not a run id")))
                        })
                        .collect()
                };
                match (&c.op, &c.value) {
                    (Op::Eq, Lit::Str(s)) => run::Column::Id.is_in(ids(std::slice::from_ref(s))?),
                    (Op::Ne, Lit::Str(s)) => run::Column::Id.is_not_in(ids(std::slice::from_ref(s))?),
                    (Op::In, Lit::List(l)) => run::Column::Id.is_in(ids(l)?),
                    (Op::NotIn, Lit::List(l)) => run::Column::Id.is_not_in(ids(l)?),
                    _ => return Err(Error::invalid("filter", "run_id compares with =, != or IN (...)")),
                }
            }
            Field::Status => {
                let map = |l: &[String]| l.iter().flat_map(|s| myelin_statuses(s)).collect::<Vec<_>>();
                match (&c.op, &c.value) {
                    (Op::Eq, Lit::Str(s)) => run::Column::Status.is_in(map(std::slice::from_ref(s))),
                    (Op::Ne, Lit::Str(s)) => run::Column::Status.is_not_in(map(std::slice::from_ref(s))),
                    (Op::In, Lit::List(l)) => run::Column::Status.is_in(map(l)),
                    (Op::NotIn, Lit::List(l)) => run::Column::Status.is_not_in(map(l)),
                    _ => return Err(Error::invalid("filter", "status compares with =, != or IN (...)")),
                }
            }
            Field::StartTime | Field::EndTime => {
                let Lit::Num(ms) = c.value else { unreachable!("checked") };
                let at = Utc
                    .timestamp_millis_opt(ms as i64)
                    .single()
                    .ok_or_else(|| Error::invalid("filter", "time out of range"))?;
                let col = if c.field == Field::StartTime {
                    run::Column::CreatedAt
                } else {
                    run::Column::FinishedAt
                };
                num_cmp(Expr::col((run::Entity, col)).into(), c.op, at)
            }
            Field::RunStatus => match (&c.op, &c.value) {
                (Op::In, Lit::List(l)) => run::Column::Status.is_in(l.clone()),
                (Op::NotIn, Lit::List(l)) => run::Column::Status.is_not_in(l.clone()),
                _ => return Err(Error::invalid("query", "status takes a list of statuses")),
            },
            Field::HasTag => {
                let Lit::List(keys) = &c.value else {
                    return Err(Error::invalid("query", "tags takes tag names"));
                };
                let sub = Query::select()
                    .column(Alias::new("run_id"))
                    .from(Alias::new("run_tags"))
                    .and_where(Expr::col(Alias::new("key")).is_in(keys.clone()))
                    .to_owned();
                if c.op == Op::NotIn {
                    runs_id().not_in_subquery(sub)
                } else {
                    runs_id().in_subquery(sub)
                }
            }
            Field::UserId => {
                let sub = Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(text_cmp(Expr::col(user::Column::Username).into(), c.op, &c.value))
                    .to_owned();
                Expr::col((run::Entity, run::Column::CreatedBy)).in_subquery(sub)
            }
        };
        cond = cond.add(e.into_condition());
    }
    Ok(cond)
}

/// The value of a run's metric, param or tag, as a correlated subquery on `runs`.
fn lookup(table: &str, col: &str, key: &str) -> SimpleExpr {
    let sub = Query::select()
        .column(Alias::new(col))
        .from(Alias::new(table))
        .and_where(
            Expr::col((Alias::new(table), Alias::new("run_id"))).equals((run::Entity, run::Column::Id)),
        )
        .and_where(Expr::col((Alias::new(table), Alias::new("key"))).eq(key))
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(sub)))
}

/// A runs-table column: `metrics.<key>` (last), `metrics.<key>:min` / `:max`, `params.<key>`, `tags.<key>`.
pub fn column_expr(column: &str) -> Option<SimpleExpr> {
    let (kind, key) = column.split_once('.')?;
    match kind {
        "metrics" => {
            let (key, agg) = match key.rsplit_once(':') {
                Some((k, "min")) => (k, "min_value"),
                Some((k, "max")) => (k, "max_value"),
                Some((k, "last")) => (k, "value"),
                _ => (key, "value"),
            };
            Some(lookup("latest_metrics", agg, key))
        }
        "params" => Some(lookup("run_params", "value", key)),
        "tags" => Some(lookup("run_tags", "value", key)),
        _ => None,
    }
}

/// The expression a run is ordered by for `field` (`NULL` when a run lacks the metric, param or tag).
pub fn order_expr(field: &Field) -> SimpleExpr {
    match field {
        Field::Metric(k) => lookup("latest_metrics", "value", k),
        Field::Param(k) => lookup("run_params", "value", k),
        Field::Tag(k) => lookup("run_tags", "value", k),
        Field::RunId => Expr::col((run::Entity, run::Column::Id)).into(),
        Field::RunName => Expr::col((run::Entity, run::Column::Name)).into(),
        Field::Status | Field::RunStatus => Expr::col((run::Entity, run::Column::Status)).into(),
        Field::HasTag => Expr::col((run::Entity, run::Column::Name)).into(),
        Field::StartTime => Expr::col((run::Entity, run::Column::CreatedAt)).into(),
        Field::EndTime => Expr::col((run::Entity, run::Column::FinishedAt)).into(),
        Field::UserId => Expr::col((run::Entity, run::Column::CreatedBy)).into(),
    }
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

/// Which runs a search returns by lifecycle (MLflow's `run_view_type`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View {
    Active,
    Deleted,
    All,
}

/// Runs of the given projects matching the clauses, in the given order (default: newest first).
pub async fn find_runs(
    db: &sea_orm::DatabaseConnection,
    projects: &[Uuid],
    clauses: &[Clause],
    order: &[(Field, bool)],
    view: View,
    limit: u64,
    offset: u64,
) -> Result<Vec<run::Info>> {
    use sea_orm::sea_query::NullOrdering;
    use sea_orm::{EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};
    let mut q = run::Entity::find()
        .filter(run::Column::ProjectId.is_in(projects.to_vec()))
        .filter(condition(clauses)?);
    q = match view {
        View::Active => q.filter(run::Column::DeletedAt.is_null()),
        View::Deleted => q.filter(run::Column::DeletedAt.is_not_null()),
        View::All => q,
    };
    for (field, asc) in order {
        q = q.order_by_with_nulls(
            order_expr(field),
            if *asc { Order::Asc } else { Order::Desc },
            NullOrdering::Last,
        );
    }
    if !order.iter().any(|(f, _)| *f == Field::StartTime) {
        q = q.order_by_desc(run::Column::CreatedAt);
    }
    Ok(q.order_by_asc(run::Column::Id)
        .limit(limit)
        .offset(offset)
        .into_partial_model::<run::Info>()
        .all(db)
        .await?)
}
