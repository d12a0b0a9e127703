//! Clauses (from MLflow's filter syntax or Polyaxon's query language) as SQL over `runs`, run ordering, and the
//! search itself.

use chrono::{TimeZone, Utc};
use sea_orm::sea_query::{
    Alias, Expr, Func, IntoCondition, Query, SelectStatement, SimpleExpr, SubQueryStatement,
};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use super::filter::{Clause, Field, Lit, Op};
use crate::entities::{latest_metric, run, user};
use crate::error::{Error, Result};

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
            Field::RunKind => match (&c.op, &c.value) {
                (Op::In, Lit::List(l)) => run::Column::Kind.is_in(l.clone()),
                (Op::NotIn, Lit::List(l)) => run::Column::Kind.is_not_in(l.clone()),
                _ => return Err(Error::invalid("query", "kind takes a list of kinds")),
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
        Field::RunKind => Expr::col((run::Entity, run::Column::Kind)).into(),
        Field::StartTime => Expr::col((run::Entity, run::Column::CreatedAt)).into(),
        Field::EndTime => Expr::col((run::Entity, run::Column::FinishedAt)).into(),
        Field::UserId => Expr::col((run::Entity, run::Column::CreatedBy)).into(),
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
