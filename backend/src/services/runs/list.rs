//! A project's runs as a page: filtered by status or Polyaxon's query language, sorted by a column or by a
//! metric, param or tag.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;

use super::{summary, usernames, RunPage};
use crate::entities::run;
use crate::error::{Error, Result};
use crate::services::projects::ProjectAccess;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RunQuery {
    /// `created` (default, newest first), `name`, `status`, `started`.
    pub sort: Option<String>,
    pub asc: Option<bool>,
    /// Only runs with this status (comma-separated for several).
    pub status: Option<String>,
    /// Polyaxon's query language: `status:running|queued, metrics.loss:<0.2, params.lr:0.01, tags:baseline`.
    pub query: Option<String>,
    /// Only the runs (ops, matrix children) of this pipeline.
    pub pipeline: Option<uuid::Uuid>,
    /// `false`: only top-level runs (a pipeline's ops and matrix children are left out unless `pipeline` asks
    /// for them). Default `true`: every run.
    pub children: Option<bool>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

pub async fn list(db: &DatabaseConnection, a: &ProjectAccess, q: &RunQuery) -> Result<RunPage> {
    let mut query = run::Entity::find()
        .filter(run::Column::ProjectId.eq(a.project.id))
        .filter(run::Column::DeletedAt.is_null());
    if let Some(p) = q.pipeline {
        query = query.filter(run::Column::PipelineId.eq(p));
    } else if q.children == Some(false) {
        query = query.filter(run::Column::PipelineId.is_null());
    }
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(run::Column::Status.is_in(s.split(',').map(str::trim)));
    }
    if let Some(pql) = q.query.as_deref().filter(|s| !s.trim().is_empty()) {
        let clauses = crate::services::tracking::pql::parse(pql)?;
        query = query.filter(crate::services::tracking::search::condition(&clauses)?);
    }
    let total = query.clone().count(db).await?;
    let sort = q.sort.as_deref().unwrap_or("created");
    let column = |c: run::Column| -> sea_orm::sea_query::SimpleExpr { Expr::col((run::Entity, c)).into() };
    // (what to order by, ascending unless told, whether runs lacking it go last).
    let (expr, default_asc, nulls_last) = match sort {
        "name" => (column(run::Column::Name), true, false),
        "status" => (column(run::Column::Status), true, false),
        "started" => (column(run::Column::StartedAt), false, false),
        "created" | "" => (column(run::Column::CreatedAt), false, false),
        other => match crate::services::tracking::search::column_expr(other) {
            // Metrics read best smallest first (losses); runs without the value go last either way.
            Some(e) => (e, other.starts_with("metrics."), true),
            None => {
                return Err(Error::invalid(
                    "sort",
                    format!("cannot sort by {other:?}: use created, name, status, started, metrics.<key>[:min|:max], params.<key> or tags.<key>"),
                ))
            }
        },
    };
    let order = if q.asc.unwrap_or(default_asc) { Order::Asc } else { Order::Desc };
    // Plain columns keep a plain ORDER BY, so SQLite walks the (project, deleted, created) index.
    let query = if nulls_last {
        query.order_by_with_nulls(expr, order, sea_orm::sea_query::NullOrdering::Last)
    } else {
        query.order_by(expr, order)
    };
    let rows = query
        .order_by_desc(run::Column::Id)
        .limit(q.limit.unwrap_or(50).clamp(1, 500))
        .offset(q.offset.unwrap_or(0))
        .all(db)
        .await?;
    let names = usernames(db, rows.iter().map(|r| r.created_by)).await?;
    let items = rows
        .iter()
        .map(|r| summary(r, names.get(&r.created_by).cloned().unwrap_or_default()))
        .collect::<Result<_>>()?;
    Ok(RunPage { items, total })
}
