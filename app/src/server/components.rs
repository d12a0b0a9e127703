//! The project's components for the editor: every version (the browser resolves `hubRef` itself), and saving.

use leptos::prelude::*;

use super::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, require_user, state};
#[cfg(feature = "ssr")]
use super::projects::access;

/// One saved version: `(name, version hash, text)`, newest first per name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedComponent {
    pub name: String,
    pub version: String,
    pub content: String,
}

/// What the editor checks a file against besides the file: the project's components (every version) and the
/// pod policy its runs must meet (the project's, else the server's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectForEditor {
    pub components: Vec<SavedComponent>,
    pub policy: spec::policy::Policy,
}

#[server]
pub async fn editor_setup(owner: String, name: String) -> Result<ProjectForEditor, AppError> {
    let st = state()?;
    let a = access(&owner, &name).await?;
    let mut components = Vec::new();
    for c in backend::services::components::list(&st.db, &a).await.map_err(err)? {
        for v in backend::services::components::versions(&st.db, &a, &c.name).await.map_err(err)? {
            components.push(SavedComponent { name: v.name, version: v.version, content: v.content });
        }
    }
    Ok(ProjectForEditor { components, policy: backend::compiling::policy_for(&a.project) })
}

#[server]
pub async fn save_component(
    owner: String,
    name: String,
    component: String,
    content: String,
) -> Result<String, AppError> {
    let st = state()?;
    // The project first: strangers, signed in or not, learn only that it does not exist.
    let a = access(&owner, &name).await?;
    let me = require_user().await?;
    let req = backend::services::components::SaveComponent { name: component, content };
    let v = backend::services::components::save(&st.db, &a, &me, &req).await.map_err(err)?;
    Ok(format!("{}:{}", v.name, &v.version[..spec::library::SHORT]))
}

/// What the server's cluster says of the file, with the params form's values, before it is run (`None` on
/// the local executor, or when some node could take every pod it makes, a pipeline's ops and matrix children
/// included): `(code, message)`.
#[server]
pub async fn preflight(
    owner: String,
    name: String,
    content: String,
    params: String,
) -> Result<Option<(String, String)>, AppError> {
    // The form's `[[name, value], ...]` as JSON (a list of pairs does not survive a URL-encoded body).
    let params: Vec<(String, String)> = serde_json::from_str(&params).map_err(|e| AppError {
        code: "invalid_argument".into(),
        message: format!("params: not a list of [name, value] pairs: {e}"),
    })?;
    let st = state()?;
    let a = access(&owner, &name).await?;
    let library = backend::services::components::library(&st.db, a.project.id).await.map_err(err)?;
    let catalog = st.connections.for_project(&a.path());
    let out = backend::compiling::off_thread(move || {
        spec::compile(&spec::Options {
            limits: backend::compiling::limits(),
            policy: None,
            files: vec![spec::Source { name: "polyaxonfile.yaml".into(), text: content }],
            params: params
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect(),
            catalog,
            refs: &library,
            run_uuid: None,
            execution: spec::Execution {
                all_children: true,
                retries: spec::compile::Retries::Myelin,
                ..Default::default()
            },
        })
    })
    .await
    .map_err(err)?;
    if !out.valid {
        return Ok(None);
    }
    Ok(st.executor.preflight(&out.run).map(|f| (f.code.to_string(), f.message)))
}
