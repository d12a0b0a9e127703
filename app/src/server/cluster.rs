//! The cluster page's data: Nodes with GPU capacity and allocation, the runs on each, and the queue
//! (`api_types::ClusterPage`, as the REST API and `myelin cluster` have it).

use leptos::prelude::*;

use super::AppError;

#[cfg(feature = "ssr")]
use super::ctx::{err, require_user, state};

#[server]
pub async fn get_cluster() -> Result<api_types::ClusterPage, AppError> {
    let st = state()?;
    let me = require_user().await?;
    backend::services::cluster::page(&st.db, &st.executor, &me).await.map_err(err)
}
