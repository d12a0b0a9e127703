//! The cluster page: the executor, the Nodes with their GPUs and the runs on them, and the queue — the runs
//! waiting to start or to be placed, with why. Runs are shown only from projects the caller is a member of;
//! runs of other projects on a node are counted, not named.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use spec::lifecycle::Status;
use uuid::Uuid;

use crate::entities::{member, project, run, user};
use crate::error::Result;
use crate::executor::Executor;

pub use api_types::{ClusterNode, ClusterPage, RunRef, WaitingRun};

const WAITING: [Status; 5] =
    [Status::Queued, Status::Scheduled, Status::Unschedulable, Status::Warning, Status::Retrying];

pub async fn page(db: &DatabaseConnection, exec: &Executor, caller: &user::Model) -> Result<ClusterPage> {
    // The caller's projects, as `owner/name`.
    let mine: Vec<(Uuid, String, Uuid)> = project::Entity::find()
        .inner_join(member::Entity)
        .filter(member::Column::UserId.eq(caller.id))
        .select_only()
        .column(project::Column::Id)
        .column(project::Column::Name)
        .column(project::Column::OwnerId)
        .into_tuple()
        .all(db)
        .await?;
    let owners: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(mine.iter().map(|m| m.2)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let paths: HashMap<Uuid, String> = mine
        .iter()
        .map(|(id, name, owner)| (*id, format!("{}/{name}", owners.get(owner).cloned().unwrap_or_default())))
        .collect();
    let waiting: Vec<&str> = WAITING.iter().map(|s| s.as_str()).collect();
    let queued = run::Entity::find()
        .filter(run::Column::ProjectId.is_in(paths.keys().copied()))
        .filter(run::Column::Status.is_in(waiting))
        .filter(run::Column::Kind.is_not_in(crate::store::runs::undispatched()))
        .order_by_asc(run::Column::CreatedAt)
        .limit(500)
        .all(db)
        .await?;
    let reference = |r: &run::Model| -> Result<RunRef> {
        Ok(RunRef {
            uuid: r.id,
            project: paths.get(&r.project_id).cloned().unwrap_or_default(),
            name: r.name.clone(),
            status: r.status()?,
        })
    };
    let queue = queued
        .iter()
        .map(|r| {
            Ok(WaitingRun {
                run: reference(r)?,
                created_at: r.created_at,
                status_message: r.status_message.clone(),
                diagnosis: r.diagnosis.clone().and_then(|d| serde_json::from_value(d).ok()),
            })
        })
        .collect::<Result<_>>()?;
    let Some(k) = exec.kubernetes() else {
        return Ok(ClusterPage {
            executor: exec.name().into(),
            namespace: None,
            synced: true,
            nodes: vec![],
            queue,
        });
    };
    let view = k.cluster();
    let on_nodes: Vec<Uuid> = view.nodes.iter().flat_map(|(_, runs)| runs.iter().copied()).collect();
    let visible: HashMap<Uuid, run::Model> = run::Entity::find()
        .filter(run::Column::Id.is_in(on_nodes))
        .filter(run::Column::ProjectId.is_in(paths.keys().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let nodes = view
        .nodes
        .into_iter()
        .map(|(node, ids)| {
            let runs: Vec<RunRef> =
                ids.iter().filter_map(|id| visible.get(id)).map(reference).collect::<Result<_>>()?;
            Ok(ClusterNode { other_runs: ids.len() - runs.len(), runs, node })
        })
        .collect::<Result<_>>()?;
    Ok(ClusterPage {
        executor: exec.name().into(),
        namespace: Some(view.namespace),
        synced: view.synced,
        nodes,
        queue,
    })
}
