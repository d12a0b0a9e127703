//! The artifact index: every file a run stores through the server is recorded with its size, sha256 and producer
//! run, so a project's artifacts are searched, paged and browsed by directory from the database (a run with
//! 100,000 files lists a page, not the store), and a file's consumers are found by its digest.

use api_types::{ArtifactDir, ArtifactInfo, ArtifactPage, ArtifactView};
use sea_orm::sea_query::{Expr, Func, LikeExpr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::projects::ProjectAccess;
use crate::artifacts::preview::kind_of;
use crate::artifacts::{normalise, Artifacts, Stored};
use crate::entities::{artifact, run};
use crate::error::{Error, Result};

/// Most rows one page returns.
pub const MAX_PAGE: u64 = 1000;

/// `(parent directory, name)` of a path relative to the run's root.
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Stores an upload as the run's `rel` (within the project's quota) and records it with its digest.
pub async fn upload<S, E>(
    db: &DatabaseConnection,
    store: &Artifacts,
    r: &run::Model,
    rel: &str,
    body: S,
) -> Result<Stored>
where
    S: futures_util::Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let rel = normalise(rel)?;
    let key = Artifacts::run_key(r.project_id, r.id, &rel)?;
    let stored = super::project_limits::store_upload(db, store, r.project_id, &key, body).await?;
    record(db, r, &rel, &stored).await?;
    Ok(stored)
}

/// Records (or re-records, on an overwrite) a stored file of the run.
pub async fn record(db: &DatabaseConnection, r: &run::Model, rel: &str, stored: &Stored) -> Result<()> {
    let (dir, name) = split(rel);
    let row = artifact::ActiveModel {
        run_id: Set(r.id),
        path: Set(rel.to_string()),
        project_id: Set(r.project_id),
        dir: Set(dir.to_string()),
        name: Set(name.to_string()),
        kind: Set(kind_of(name).to_string()),
        size: Set(stored.size as i64),
        sha256: Set(stored.sha256.clone()),
        created_ms: Set(chrono::Utc::now().timestamp_millis()),
    };
    artifact::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([artifact::Column::RunId, artifact::Column::Path])
                .update_columns([
                    artifact::Column::Size,
                    artifact::Column::Sha256,
                    artifact::Column::CreatedMs,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// What a project's artifacts are searched by.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Search {
    /// Part of the file name, any case.
    pub q: Option<String>,
    /// `image`, `svg`, `table`, `text`, `markdown`, `html`, `pdf`, `mlmodel` or `other`.
    pub kind: Option<String>,
    /// Only this run's files.
    pub run: Option<Uuid>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u64>,
}

/// `s` matching itself in a `LIKE` pattern escaped with `\`.
fn escape_like(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// Contains `q`, any case (the column is lower-cased too).
fn like_part(q: &str) -> String {
    format!("%{}%", escape_like(&q.to_lowercase()))
}

fn bad_cursor() -> Error {
    Error::invalid("after", "not a cursor this listing returned")
}

/// A page of the project's artifacts, newest first (then by run and path).
pub async fn search(db: &DatabaseConnection, a: &ProjectAccess, s: &Search) -> Result<ArtifactPage> {
    let limit = s.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let mut query = artifact::Entity::find().filter(artifact::Column::ProjectId.eq(a.project.id));
    if let Some(q) = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(artifact::Column::Name)))
                .like(LikeExpr::new(like_part(q)).escape('\\')),
        );
    }
    if let Some(k) = s.kind.as_deref().filter(|k| !k.is_empty()) {
        query = query.filter(artifact::Column::Kind.eq(k));
    }
    if let Some(r) = s.run {
        query = query.filter(artifact::Column::RunId.eq(r));
    }
    if let Some(after) = s.after.as_deref() {
        let mut parts = after.splitn(3, '|');
        let (Some(ms), Some(run), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad_cursor());
        };
        let ms: i64 = ms.parse().map_err(|_| bad_cursor())?;
        let run: Uuid = run.parse().map_err(|_| bad_cursor())?;
        query = query.filter(
            Condition::any().add(artifact::Column::CreatedMs.lt(ms)).add(
                Condition::all().add(artifact::Column::CreatedMs.eq(ms)).add(
                    Condition::any().add(artifact::Column::RunId.gt(run)).add(
                        Condition::all()
                            .add(artifact::Column::RunId.eq(run))
                            .add(artifact::Column::Path.gt(path)),
                    ),
                ),
            ),
        );
    }
    let mut rows = query
        .order_by_desc(artifact::Column::CreatedMs)
        .order_by_asc(artifact::Column::RunId)
        .order_by_asc(artifact::Column::Path)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next =
        more.then(|| rows.last().map(|r| format!("{}|{}|{}", r.created_ms, r.run_id, r.path))).flatten();
    Ok(ArtifactPage { items: infos(db, rows).await?, next })
}

pub(crate) async fn infos(db: &DatabaseConnection, rows: Vec<artifact::Model>) -> Result<Vec<ArtifactInfo>> {
    let mut ids: Vec<Uuid> = rows.iter().map(|r| r.run_id).collect();
    ids.sort();
    ids.dedup();
    let names: std::collections::HashMap<Uuid, String> = run::Entity::find()
        .filter(run::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| ArtifactInfo {
            run_name: names.get(&r.run_id).cloned().unwrap_or_default(),
            run: r.run_id,
            path: r.path,
            name: r.name,
            kind: r.kind,
            size: r.size.max(0) as u64,
            sha256: r.sha256,
            created_ms: r.created_ms,
        })
        .collect())
}

/// One directory of a run's recorded files: its subdirectories (first page only) and a page of files by name.
pub async fn dir(
    db: &DatabaseConnection,
    store: &Artifacts,
    r: &run::Model,
    path: &str,
    after: Option<&str>,
    limit: Option<u64>,
) -> Result<ArtifactDir> {
    let path = match path.trim_matches('/') {
        "" => String::new(),
        p => normalise(p)?,
    };
    let limit = limit.unwrap_or(200).clamp(1, MAX_PAGE);
    let mut files = artifact::Entity::find()
        .filter(artifact::Column::RunId.eq(r.id))
        .filter(artifact::Column::Dir.eq(path.as_str()));
    if let Some(after) = after {
        files = files.filter(artifact::Column::Name.gt(after));
    }
    let mut rows = files.order_by_asc(artifact::Column::Name).limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next = more.then(|| rows.last().map(|f| f.name.clone())).flatten();
    let dirs = if after.is_none() { subdirs(db, r.id, &path).await? } else { Vec::new() };
    let model = match rows.iter().find(|f| f.name == "MLmodel") {
        Some(f) => {
            let key = Artifacts::run_key(r.project_id, r.id, &f.path)?;
            let (_, head) = store.read_head(&key, crate::artifacts::preview::PREVIEW_BYTES).await?;
            crate::artifacts::preview::model_card(&String::from_utf8_lossy(&head))
        }
        None => None,
    };
    Ok(ArtifactDir {
        run: r.id,
        run_name: r.name.clone(),
        path,
        dirs,
        files: infos(db, rows).await?,
        next,
        model,
    })
}

/// The immediate subdirectories of `path` among the run's recorded files.
async fn subdirs(db: &DatabaseConnection, run: Uuid, path: &str) -> Result<Vec<String>> {
    let mut q = artifact::Entity::find()
        .select_only()
        .column(artifact::Column::Dir)
        .distinct()
        .filter(artifact::Column::RunId.eq(run));
    let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
    if !prefix.is_empty() {
        let anchored = format!("{}%", escape_like(&prefix));
        q = q.filter(Expr::col(artifact::Column::Dir).like(LikeExpr::new(anchored).escape('\\')));
    } else {
        q = q.filter(artifact::Column::Dir.ne(""));
    }
    let dirs: Vec<String> = q.into_tuple().all(db).await?;
    let mut out: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            let rest = d.strip_prefix(&prefix)?;
            let first = rest.split('/').next().filter(|s| !s.is_empty())?;
            Some(format!("{prefix}{first}"))
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The recorded file `rel` of the run, `None` when it was stored before the index existed (or is not a file).
pub async fn find(db: &DatabaseConnection, r: &run::Model, rel: &str) -> Result<Option<ArtifactInfo>> {
    let row = artifact::Entity::find_by_id((r.id, rel.to_string())).one(db).await?;
    Ok(infos(db, row.into_iter().collect()).await?.pop())
}

/// A file of the run with its preview, its download address and the runs that consumed it.
pub async fn view(
    db: &DatabaseConnection,
    store: &Artifacts,
    project_path: &str,
    r: &run::Model,
    path: &str,
) -> Result<ArtifactView> {
    let rel = normalise(path)?;
    let key = Artifacts::run_key(r.project_id, r.id, &rel)?;
    let file = rel.rsplit('/').next().unwrap_or(&rel).to_string();
    let download =
        format!("/api/v1/projects/{project_path}/runs/{}/artifacts/{}", r.id, api_types::encode_path(&rel));
    let raw = format!("{download}?inline=1");
    let parquet = file.to_ascii_lowercase().ends_with(".parquet");
    let (size, head) = match kind_of(&file) {
        "image" | "svg" | "html" | "pdf" => (store.meta(&key).await?.size, bytes::Bytes::new()),
        _ if parquet => (store.meta(&key).await?.size, bytes::Bytes::new()),
        _ => store.read_head(&key, crate::artifacts::preview::PREVIEW_BYTES).await?,
    };
    let info = match find(db, r, &rel).await? {
        Some(i) => i,
        // Stored before the index existed: shown, without a digest.
        None => ArtifactInfo {
            run: r.id,
            run_name: r.name.clone(),
            path: rel.clone(),
            name: file.clone(),
            kind: kind_of(&file).to_string(),
            size,
            sha256: String::new(),
            created_ms: 0,
        },
    };
    let consumers = super::lineage::consumers(db, r.project_id, &info.sha256).await?;
    let preview = if parquet {
        parquet_preview(store, &key, size).await?
    } else {
        crate::artifacts::preview::preview(&file, size, &head, &raw)
    };
    Ok(ArtifactView { preview, info, download, consumers })
}

/// A Parquet file's schema and first rows, read in ranges: its tail, its footer, and its first row group when
/// that is small enough.
async fn parquet_preview(
    store: &Artifacts,
    key: &object_store::path::Path,
    size: u64,
) -> Result<api_types::Preview> {
    use crate::artifacts::parquet;
    let download = |reason: String| Ok(api_types::Preview::Download { reason });
    if size < 12 {
        return download("not a Parquet file".into());
    }
    let tail = store.read_range(key, size - 8..size).await?;
    let footer = match parquet::footer_range(size, &tail) {
        Ok(r) => store.read_range(key, r).await?,
        Err(why) => return download(why),
    };
    let rows = match parquet::first_row_group(size, footer.clone()) {
        Ok(Some(r)) if r.end - r.start <= parquet::MAX_ROW_GROUP && r.end <= size => {
            Some((r.start, store.read_range(key, r).await?))
        }
        Ok(_) => None,
        Err(why) => return download(why),
    };
    // Decoding pages is CPU work: off the request threads.
    tokio::task::spawn_blocking(move || parquet::table(size, footer, rows))
        .await
        .map_err(|e| Error::Internal(format!("parquet preview: {e}")))
}
