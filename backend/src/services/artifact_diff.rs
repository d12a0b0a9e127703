//! The same path in two runs side by side (the compare page's `file`), and each run's files by digest for "why
//! different".

use api_types::ArtifactInfo;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::artifacts::find;
use crate::artifacts::preview::kind_of;
use crate::artifacts::{normalise, Artifacts};
use crate::entities::{artifact, run};
use crate::error::{Error, Result};

/// The run's file `rel`: from the index, or (stored before the index existed) from the store without a digest;
/// `None` when the run has no such file.
async fn stored_info(
    db: &DatabaseConnection,
    store: &Artifacts,
    r: &run::Model,
    rel: &str,
) -> Result<Option<ArtifactInfo>> {
    if let Some(i) = find(db, r, rel).await? {
        return Ok(Some(i));
    }
    let key = Artifacts::run_key(r.project_id, r.id, rel)?;
    let Some(size) = store.size_of(&key).await? else { return Ok(None) };
    let name = rel.rsplit('/').next().unwrap_or(rel).to_string();
    Ok(Some(ArtifactInfo {
        run: r.id,
        run_name: r.name.clone(),
        path: rel.to_string(),
        kind: kind_of(&name).to_string(),
        name,
        size,
        sha256: String::new(),
        created_ms: 0,
    }))
}

/// The same path in two runs of the project side by side: images both shown, text as a line diff of their first
/// [`PREVIEW_BYTES`](crate::artifacts::preview::PREVIEW_BYTES), anything else by size and digest.
pub async fn diff(
    db: &DatabaseConnection,
    store: &Artifacts,
    project_path: &str,
    runs: [&run::Model; 2],
    path: &str,
) -> Result<api_types::ArtifactDiff> {
    use crate::artifacts::preview::{looks_textual, PREVIEW_BYTES};
    let rel = normalise(path)?;
    let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
    let kind = match kind_of(&name) {
        "image" | "svg" => "image",
        "text" | "markdown" | "mlmodel" => "text",
        "table" if !name.to_ascii_lowercase().ends_with(".parquet") => "text",
        _ => "other",
    };
    let mut sides = Vec::with_capacity(2);
    let mut heads = Vec::with_capacity(2);
    for r in runs {
        let info = stored_info(db, store, r, &rel).await?;
        let download = format!(
            "/api/v1/projects/{project_path}/runs/{}/artifacts/{}",
            r.id,
            api_types::encode_path(&rel)
        );
        let head = match &info {
            Some(i) if kind != "image" => {
                let key = Artifacts::run_key(r.project_id, r.id, &rel)?;
                let (_, head) = store.read_head(&key, PREVIEW_BYTES).await?;
                Some((head, i.size))
            }
            _ => None,
        };
        heads.push(head);
        sides.push(api_types::ArtifactSide {
            run: r.id,
            run_name: r.name.clone(),
            size: info.as_ref().map(|i| i.size),
            sha256: info.as_ref().map(|i| i.sha256.clone()).unwrap_or_default(),
            src: info.as_ref().filter(|_| kind == "image").map(|_| format!("{download}?inline=1")),
            download: info.as_ref().map(|_| download),
        });
    }
    if sides.iter().all(|s| s.size.is_none()) {
        return Err(Error::NotFound("artifact"));
    }
    let digests: Vec<Option<&str>> =
        sides.iter().map(|s| Some(s.sha256.as_str()).filter(|d| !d.is_empty())).collect();
    let same = digests[0].is_some() && digests[0] == digests[1];
    let textual = heads.iter().all(|h| h.as_ref().is_none_or(|(b, _)| looks_textual(b)));
    let kind = if kind == "other" && textual && heads.iter().any(Option::is_some) { "text" } else { kind };
    let (lines, truncated) = if kind == "text" && textual && !same {
        let text = |h: &Option<(bytes::Bytes, u64)>| {
            h.as_ref().map(|(b, _)| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
        };
        let cut = heads.iter().flatten().any(|(b, size)| (b.len() as u64) < *size);
        let (lines, more) = crate::artifacts::diff::lines(&text(&heads[0]), &text(&heads[1]));
        (lines, cut || more)
    } else {
        (Vec::new(), false)
    };
    let kind = if kind == "text" && !textual { "other" } else { kind };
    let mut sides = sides.into_iter();
    let (a, b) = (sides.next().expect("two sides"), sides.next().expect("two sides"));
    Ok(api_types::ArtifactDiff { path: rel, kind: kind.to_string(), a, b, same, lines, truncated })
}

/// At most this many of a run's files are compared on the compare page.
pub const COMPARED_FILES: u64 = 500;

/// The run's recorded files (the first [`COMPARED_FILES`] by path) as `path → "sha256 prefix · size"`, for the
/// compare page's "why different".
pub async fn digests_of(
    db: &DatabaseConnection,
    run: Uuid,
) -> Result<std::collections::BTreeMap<String, String>> {
    let rows = artifact::Entity::find()
        .filter(artifact::Column::RunId.eq(run))
        .order_by_asc(artifact::Column::Path)
        .limit(COMPARED_FILES)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|f| {
            let short = f.sha256.get(..12).unwrap_or("no digest").to_string();
            (f.path, format!("{short} · {} bytes", f.size))
        })
        .collect())
}
