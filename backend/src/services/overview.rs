//! A project's overview: counts by status, what runs and waits now, the latest runs and pipelines, and the
//! best runs by a chosen metric. A handful of indexed queries, each bounded: fast at 10,000 runs.

use api_types::{BestRuns, ProjectOverview, RankedRun, RunSummary, StatusCount};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use spec::lifecycle::{RunKind, Status};
use uuid::Uuid;

use crate::entities::{latest_metric, run};
use crate::error::{Error, Result};
use crate::services::projects::ProjectAccess;

/// Which metric ranks the best runs, and which end is best; `key: None` picks a logged one (`loss` first).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct OverviewQuery {
    pub metric: Option<String>,
    /// `min` (default) or `max`.
    pub goal: Option<String>,
}

fn live(a: &ProjectAccess) -> sea_orm::Select<run::Entity> {
    run::Entity::find()
        .filter(run::Column::ProjectId.eq(a.project.id))
        .filter(run::Column::DeletedAt.is_null())
}

type Names = std::collections::HashMap<Uuid, String>;

fn summaries(names: &Names, rows: &[run::Model]) -> Result<Vec<RunSummary>> {
    rows.iter()
        .map(|r| super::runs::summary(r, names.get(&r.created_by).cloned().unwrap_or_default()))
        .collect()
}

pub async fn overview(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    q: &OverviewQuery,
) -> Result<ProjectOverview> {
    let goal = match q.goal.as_deref().unwrap_or("min") {
        g @ ("min" | "max") => g.to_string(),
        other => return Err(Error::invalid("goal", format!("goal {other:?}: min or max"))),
    };
    let counts: Vec<(String, i64)> = live(a)
        .select_only()
        .column(run::Column::Status)
        // `COUNT(*)`: answered from the (project, deleted, status) index alone.
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(run::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_status: Vec<StatusCount> =
        counts.into_iter().map(|(status, n)| StatusCount { status, count: n.max(0) as u64 }).collect();
    by_status.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.status.cmp(&b.status)));
    let total = by_status.iter().map(|c| c.count).sum();

    let dispatched = || run::Column::Kind.is_not_in(crate::store::runs::undispatched());
    let running = live(a)
        .filter(run::Column::Status.is_in(crate::store::runs::active_statuses()))
        .filter(dispatched())
        .order_by_asc(run::Column::CreatedAt)
        .limit(20)
        .all(db)
        .await?;
    let queued_rows = || live(a).filter(run::Column::Status.eq(Status::Queued.as_str())).filter(dispatched());
    let queued_total = queued_rows().count(db).await?;
    // The scheduler takes a project's queued runs oldest first: this order is the queue.
    let queued = queued_rows().order_by_asc(run::Column::CreatedAt).limit(20).all(db).await?;
    let latest = live(a)
        .filter(run::Column::PipelineId.is_null())
        .order_by_desc(run::Column::CreatedAt)
        .limit(10)
        .all(db)
        .await?;
    let pipelines = live(a)
        .filter(run::Column::Kind.is_in([RunKind::Dag.as_str(), RunKind::Matrix.as_str()]))
        .order_by_desc(run::Column::CreatedAt)
        .limit(5)
        .all(db)
        .await?;

    let project_runs = Query::select()
        .column(run::Column::Id)
        .from(run::Entity)
        .and_where(run::Column::ProjectId.eq(a.project.id))
        .and_where(run::Column::DeletedAt.is_null())
        .to_owned();
    let metric_keys: Vec<String> = latest_metric::Entity::find()
        .select_only()
        .column(latest_metric::Column::Key)
        .distinct()
        .filter(latest_metric::Column::RunId.in_subquery(project_runs.clone()))
        .order_by_asc(latest_metric::Column::Key)
        .limit(100)
        .into_tuple()
        .all(db)
        .await?;
    let key = q
        .metric
        .clone()
        .filter(|k| !k.is_empty())
        .or_else(|| metric_keys.iter().find(|k| k.as_str() == "loss").or(metric_keys.first()).cloned());
    let best = match key {
        None => None,
        Some(key) => {
            let order = if goal == "min" { sea_orm::Order::Asc } else { sea_orm::Order::Desc };
            let ranked = latest_metric::Entity::find()
                .filter(latest_metric::Column::Key.eq(key.as_str()))
                .filter(latest_metric::Column::Value.is_not_null())
                .filter(latest_metric::Column::RunId.in_subquery(project_runs))
                .order_by(latest_metric::Column::Value, order)
                .limit(10)
                .all(db)
                .await?;
            let ids: Vec<Uuid> = ranked.iter().map(|m| m.run_id).collect();
            let rows = run::Entity::find().filter(run::Column::Id.is_in(ids)).all(db).await?;
            Some((key, goal, ranked, rows))
        }
    };
    // The users of every list, in one query.
    let lists = [&running, &queued, &latest, &pipelines];
    let ranked_rows = best.iter().flat_map(|(_, _, _, rows)| rows.iter());
    let users = lists.iter().flat_map(|l| l.iter()).chain(ranked_rows).map(|r| r.created_by);
    let names = super::runs::usernames(db, users).await?;
    let best = match best {
        None => None,
        Some((key, goal, ranked, rows)) => {
            let runs = summaries(&names, &rows)?;
            let runs = ranked
                .iter()
                .filter_map(|m| {
                    let run = runs.iter().find(|r| r.uuid == m.run_id)?.clone();
                    Some(RankedRun { run, value: m.value?, step: m.step })
                })
                .collect();
            Some(BestRuns { key, goal, runs })
        }
    };
    Ok(ProjectOverview {
        by_status,
        total,
        running: summaries(&names, &running)?,
        queued: summaries(&names, &queued)?,
        queued_total,
        latest: summaries(&names, &latest)?,
        pipelines: summaries(&names, &pipelines)?,
        metric_keys,
        best,
    })
}
