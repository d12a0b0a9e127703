//! A project's artifacts for the browser (`backend::services::artifacts`): search, a run's folder or file (with
//! its preview), in the API's own types.

use api_types::{ArtifactDir, ArtifactPage, ArtifactView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, state};
#[cfg(feature = "ssr")]
use super::runs::run_of;
use super::AppError;

/// What a path of a run is: a file with its preview, or a folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PathView {
    File(Box<ArtifactView>),
    Folder(Box<ArtifactDir>),
}

/// A page of the project's artifacts, newest first; `kind` and `q` narrow it, `after` is the previous `next`.
#[server]
pub async fn search_artifacts(
    owner: String,
    name: String,
    q: String,
    kind: String,
    after: Option<String>,
) -> Result<ArtifactPage, AppError> {
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    let search = backend::services::artifacts::Search {
        q: Some(q),
        kind: Some(kind),
        after,
        limit: Some(50),
        ..Default::default()
    };
    backend::services::artifacts::search(&st.db, &a, &search).await.map_err(err)
}

/// The file or folder `path` of the run (`""`: its root); a folder's files from `after` on.
#[server]
pub async fn artifact_at(
    owner: String,
    name: String,
    uuid: String,
    path: String,
    after: Option<String>,
) -> Result<PathView, AppError> {
    use backend::services::artifacts;
    let st = state()?;
    let r = run_of(&owner, &name, &uuid).await?;
    let path = path.trim_matches('/').to_string();
    let file = if path.is_empty() {
        None
    } else {
        match artifacts::view(&st.db, &st.artifacts, &format!("{owner}/{name}"), &r, &path).await {
            Ok(v) => return Ok(PathView::File(Box::new(v))),
            Err(e @ backend::Error::Invalid { .. }) => return Err(err(e)),
            Err(e) => Some(e),
        }
    };
    let dir =
        artifacts::dir(&st.db, &st.artifacts, &r, &path, after.as_deref(), Some(200)).await.map_err(err)?;
    if dir.dirs.is_empty() && dir.files.is_empty() && after.is_none() {
        if let Some(e) = file {
            return Err(err(e));
        }
    }
    Ok(PathView::Folder(Box::new(dir)))
}
