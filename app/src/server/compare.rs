//! Runs compared, for the compare page (`backend::services::compare`): chosen by uuid, or every run a query
//! matches (at most 1,000).

use leptos::prelude::*;

use serde::{Deserialize, Serialize};

use super::AppError;
pub use api_types::{ChartSeries, Comparison, Line, WhyDifferent};

/// The compare page's data. On the server its lines have their points, to draw the charts; written into the
/// page they have none (`elided`): the points are most of its bytes (3 of 5.6 MB at 500 runs, and the browser
/// parses all of it before it runs a line of the app). The browser keeps the server's drawing and fetches the
/// lines with their points (`compare_lines`) once the page has hydrated, for the hover readout and redrawing.
#[derive(Debug, Clone, Deserialize)]
pub struct ComparePage {
    pub c: Comparison,
    pub elided: bool,
}

impl ComparePage {
    pub fn fetched(c: Comparison) -> Self {
        ComparePage { c, elided: false }
    }
}

impl Serialize for ComparePage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            c: &'a Comparison,
            elided: bool,
        }
        let c = &self.c;
        let series = c
            .series
            .iter()
            .map(|x| ChartSeries {
                key: x.key.clone(),
                lines: x.lines.iter().map(|l| Line { run: l.run, points: vec![], total: l.total }).collect(),
            })
            .collect();
        let light = Comparison {
            runs: c.runs.clone(),
            baseline: c.baseline,
            params: c.params.clone(),
            tags: c.tags.clone(),
            facts: c.facts.clone(),
            metrics: c.metrics.clone(),
            series,
        };
        Wire { c: &light, elided: true }.serialize(s)
    }
}

/// `runs`: comma-separated uuids; when empty, the runs `q` matches (Polyaxon's query language), newest first:
/// top-level runs, or with `children` pipelines' ops and matrix children too (as the runs tab lists them).
/// `metrics`: comma-separated keys to chart. `from`/`to`: a step range (a zoomed chart).
// A server function's arguments are its form fields: the compare page's URL, one for one.
#[allow(clippy::too_many_arguments)]
#[server]
pub async fn compare_runs(
    owner: String,
    name: String,
    runs: String,
    q: String,
    children: bool,
    metrics: String,
    baseline: String,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Comparison, AppError> {
    // The app's state before any await: the context is not reachable after one.
    let st = super::ctx::state()?;
    let a = super::projects::access(&owner, &name).await?;
    let req = ssr::request(&st, &a, runs, q, children, metrics, baseline, from, to).await?;
    backend::services::compare::compare(&st.db, &a, &req).await.map_err(super::ctx::err)
}

/// Only the charted lines of what `compare_runs` answers (with their points): the page already holds the rest.
#[allow(clippy::too_many_arguments)]
#[server]
pub async fn compare_lines(
    owner: String,
    name: String,
    runs: String,
    q: String,
    children: bool,
    metrics: String,
    baseline: String,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Vec<ChartSeries>, AppError> {
    let st = super::ctx::state()?;
    let a = super::projects::access(&owner, &name).await?;
    let req = ssr::request(&st, &a, runs, q, children, metrics, baseline, from, to).await?;
    backend::services::compare::series(&st.db, &a, &req).await.map_err(super::ctx::err)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use backend::services::projects::ProjectAccess;

    /// The compare request a page's URL stands for: its runs by uuid, or every run the query matches (at most
    /// `MAX_RUNS`, a page of 500 at a time).
    #[allow(clippy::too_many_arguments)]
    pub async fn request(
        st: &backend::AppState,
        a: &ProjectAccess,
        runs: String,
        q: String,
        children: bool,
        metrics: String,
        baseline: String,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<api_types::CompareRequest, AppError> {
        use crate::server::ctx::err;
        use backend::services::compare::MAX_RUNS;
        use backend::services::runs::RunQuery;
        let bad = |what: &str| AppError {
            code: "invalid_argument".into(),
            message: format!("{what} is not a run uuid"),
        };
        let mut ids = Vec::new();
        for r in runs.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            ids.push(r.parse::<uuid::Uuid>().map_err(|_| bad(r))?);
        }
        if ids.is_empty() {
            while ids.len() < MAX_RUNS {
                let page = RunQuery {
                    query: Some(q.clone()),
                    children: Some(children),
                    limit: Some(500),
                    offset: Some(ids.len() as u64),
                    ..Default::default()
                };
                let got = backend::services::runs::list(&st.db, a, &page).await.map_err(err)?;
                let n = got.items.len();
                ids.extend(got.items.into_iter().map(|r| r.uuid).take(MAX_RUNS - ids.len()));
                if n < 500 {
                    break;
                }
            }
        }
        let baseline = match baseline.trim() {
            "" => None,
            b => Some(b.parse().map_err(|_| bad(b))?),
        };
        Ok(api_types::CompareRequest {
            runs: ids,
            metrics: metrics.split(',').map(str::trim).filter(|k| !k.is_empty()).map(String::from).collect(),
            baseline,
            points: None,
            from_step: from,
            to_step: to,
        })
    }
}

/// Two of the project's runs side by side in everything that decides a result (`backend::services::compare::why`).
#[server]
pub async fn explain_difference(
    owner: String,
    name: String,
    a: String,
    b: String,
) -> Result<WhyDifferent, AppError> {
    use super::ctx::{err, state};
    let st = state()?;
    let access = super::projects::access(&owner, &name).await?;
    let id = |s: &str| {
        s.trim().parse::<uuid::Uuid>().map_err(|_| AppError {
            code: "invalid_argument".into(),
            message: format!("{s} is not a run uuid"),
        })
    };
    backend::services::compare::why(&st.db, &access, id(&a)?, id(&b)?).await.map_err(err)
}

/// The file `path` of runs `a` and `b` side by side (the compare page's `file`).
#[server]
pub async fn compare_artifact(
    owner: String,
    name: String,
    a: String,
    b: String,
    path: String,
) -> Result<api_types::ArtifactDiff, AppError> {
    use super::ctx::{err, state};
    use super::runs::run_of;
    let st = state()?;
    let (ra, rb) = (run_of(&owner, &name, &a).await?, run_of(&owner, &name, &b).await?);
    let project = format!("{owner}/{name}");
    backend::services::artifact_diff::diff(&st.db, &st.artifacts, &project, [&ra, &rb], &path)
        .await
        .map_err(err)
}
