//! Team review of the registry: promotion requests (a version to an alias, with a reason) that reviewers
//! approve or reject in a thread; at the policy's number of approvals the alias moves, in the same transaction
//! as its audit entries. Reviewers are the project's admins and owner and the model's listed reviewers; nobody
//! approves their own request. A newer request for the same alias supersedes an open older one.

use std::collections::HashSet;

use api_types::{Evidence, RequestDetail, RequestSummary, ThreadEntry};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::inbox::summaries;
use super::{audit, now_ms, policy};
use crate::domain::Role;
use crate::entities::{
    model_alias, model_reviewer, model_version as mv, promotion_event as event, promotion_request as req,
    registered_model as rm, user,
};
use crate::error::{Error, Result};
use crate::services::projects::{self, ProjectAccess};

/// A comment or review text at most this long (Markdown).
pub const MAX_BODY: usize = 20_000;

/// The model `name` of the project.
pub async fn model_in(db: &DatabaseConnection, a: &ProjectAccess, name: &str) -> Result<rm::Model> {
    rm::Entity::find()
        .filter(rm::Column::ProjectId.eq(a.project.id))
        .filter(rm::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or(Error::NotFound("registered model"))
}

pub async fn version_in(db: &DatabaseConnection, model: &rm::Model, version: i32) -> Result<mv::Model> {
    mv::Entity::find()
        .filter(mv::Column::ModelId.eq(model.id))
        .filter(mv::Column::Version.eq(version))
        .one(db)
        .await?
        .ok_or(Error::NotFound("model version"))
}

fn check_body(body: &str) -> Result<()> {
    if body.len() > MAX_BODY {
        return Err(Error::invalid("body", format!("at most {MAX_BODY} characters")));
    }
    Ok(())
}

async fn is_reviewer(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    model: Uuid,
    u: &user::Model,
) -> Result<bool> {
    Ok(a.role >= Role::Admin || model_reviewer::Entity::find_by_id((model, u.id)).one(db).await?.is_some())
}

/// Opens a request to point `alias` at `version` (a project member's call); an open request for the same
/// alias is superseded.
pub async fn open(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    u: &user::Model,
    name: &str,
    version: i32,
    alias: &str,
    reason: &str,
) -> Result<RequestSummary> {
    if a.role < Role::Member {
        return Err(Error::Forbidden("opening a promotion request needs the member role".into()));
    }
    super::check_alias(alias)?;
    check_body(reason)?;
    if reason.trim().is_empty() {
        return Err(Error::invalid("reason", "say why this version should have the alias"));
    }
    let model = model_in(db, a, name).await?;
    let v = version_in(db, &model, version).await?;
    let held = model_alias::Entity::find_by_id((model.id, alias.to_string())).one(db).await?;
    if held.is_some_and(|h| h.version_id == v.id) {
        return Err(Error::invalid(
            "alias",
            format!("version {version} of {name} already has the alias {alias:?}"),
        ));
    }
    let p = policy::of(db, a.project.id).await?;
    let txn = db.begin().await?;
    let now = now_ms();
    let id = Uuid::new_v4();
    let older = req::Entity::find()
        .filter(req::Column::ModelId.eq(model.id))
        .filter(req::Column::Alias.eq(alias))
        .filter(req::Column::State.eq("open"))
        .all(&txn)
        .await?;
    for o in older {
        let mut m: req::ActiveModel = o.clone().into();
        m.state = Set("superseded".into());
        m.closed_ms = Set(Some(now));
        m.closed_by = Set(Some(u.id));
        m.update(&txn).await?;
        let e = audit::Entry {
            actor: u,
            action: "request.supersede",
            model: &model,
            alias: Some(alias),
            version: None,
            request: Some(o.id),
            detail: json!({"by": id}),
        };
        audit::append(&txn, e).await?;
    }
    let r = req::ActiveModel {
        id: Set(id),
        project_id: Set(a.project.id),
        model_id: Set(model.id),
        version_id: Set(v.id),
        alias: Set(alias.to_string()),
        reason: Set(reason.to_string()),
        state: Set("open".into()),
        required: Set(p.approvals),
        requested_by: Set(u.id),
        created_ms: Set(now),
        closed_ms: Set(None),
        closed_by: Set(None),
    }
    .insert(&txn)
    .await?;
    let e = audit::Entry {
        actor: u,
        action: "request.open",
        model: &model,
        alias: Some(alias),
        version: Some(version),
        request: Some(id),
        detail: json!({"reason": reason, "required": p.approvals}),
    };
    audit::append(&txn, e).await?;
    txn.commit().await?;
    Ok(summaries(db, vec![r]).await?.remove(0))
}

/// The request and the caller's access to its project (a non-member: not found).
async fn load(db: &DatabaseConnection, u: &user::Model, id: Uuid) -> Result<(req::Model, ProjectAccess)> {
    let r = req::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("promotion request"))?;
    let a = projects::access_by_id(db, u, r.project_id)
        .await
        .map_err(|_| Error::NotFound("promotion request"))?;
    Ok((r, a))
}

pub async fn detail(db: &DatabaseConnection, u: &user::Model, id: Uuid) -> Result<RequestDetail> {
    let (r, a) = load(db, u, id).await?;
    let thread_rows = event::Entity::find()
        .filter(event::Column::RequestId.eq(id))
        .order_by_asc(event::Column::CreatedMs)
        .all(db)
        .await?;
    let people: Vec<Uuid> = thread_rows.iter().map(|e| e.user_id).collect();
    let names = crate::services::runs::usernames(db, people.into_iter()).await?;
    let thread = thread_rows
        .iter()
        .map(|e| ThreadEntry {
            user: names.get(&e.user_id).cloned().unwrap_or_default(),
            kind: e.kind.clone(),
            body: e.body.clone(),
            created_ms: e.created_ms,
        })
        .collect();
    let approved_by_me = thread_rows.iter().any(|e| e.kind == "approve" && e.user_id == u.id);
    let open = r.state == "open";
    let can_review =
        open && r.requested_by != u.id && !approved_by_me && is_reviewer(db, &a, r.model_id, u).await?;
    let can_cancel = open && (r.requested_by == u.id || a.role >= Role::Admin);
    let evidence = evidence(db, &a, &r).await?;
    Ok(RequestDetail {
        request: summaries(db, vec![r]).await?.remove(0),
        thread,
        evidence,
        can_review,
        can_cancel,
    })
}

/// The candidate's run against the run of the version the alias points at now.
async fn evidence(db: &DatabaseConnection, a: &ProjectAccess, r: &req::Model) -> Result<Evidence> {
    let candidate =
        mv::Entity::find_by_id(r.version_id).one(db).await?.ok_or(Error::NotFound("model version"))?;
    let current = match model_alias::Entity::find_by_id((r.model_id, r.alias.clone())).one(db).await? {
        Some(al) => mv::Entity::find_by_id(al.version_id).one(db).await?,
        None => None,
    };
    let cand_run = live_run(db, a, candidate.run_id).await?;
    let cur_run = live_run(db, a, current.as_ref().and_then(|c| c.run_id)).await?;
    let runs: Vec<Uuid> = cur_run.into_iter().chain(cand_run).collect::<Vec<_>>();
    let mut unique = runs.clone();
    unique.dedup();
    let comparison = if unique.is_empty() {
        None
    } else {
        let q = api_types::CompareRequest {
            runs: unique.clone(),
            metrics: vec![],
            baseline: unique.first().copied(),
            points: None,
            from_step: None,
            to_step: None,
        };
        Some(crate::services::compare::compare(db, a, &q).await?)
    };
    let why = match (cur_run, cand_run) {
        (Some(x), Some(y)) if x != y => Some(crate::services::compare::why(db, a, x, y).await?),
        _ => None,
    };
    Ok(Evidence {
        current_version: current.map(|c| c.version),
        current_run: cur_run,
        candidate_run: cand_run,
        comparison,
        why,
    })
}

/// The run, if it is the project's and not deleted.
async fn live_run(db: &DatabaseConnection, a: &ProjectAccess, id: Option<Uuid>) -> Result<Option<Uuid>> {
    let Some(id) = id else { return Ok(None) };
    Ok(crate::services::runs::find(db, a, id).await.ok().filter(|r| r.deleted_at.is_none()).map(|r| r.id))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// A reviewer's decision. Approving counts once per reviewer; at the required number the alias moves, with
/// the request's close and the audit entries, in one transaction.
pub async fn decide(
    db: &DatabaseConnection,
    u: &user::Model,
    id: Uuid,
    d: Decision,
    body: &str,
) -> Result<RequestDetail> {
    check_body(body)?;
    let (r, a) = load(db, u, id).await?;
    if r.requested_by == u.id {
        return Err(Error::Forbidden(match d {
            Decision::Approve => "you cannot approve your own request: another reviewer must".into(),
            Decision::Reject => "you cannot reject your own request: cancel it instead".into(),
        }));
    }
    if !is_reviewer(db, &a, r.model_id, u).await? {
        return Err(Error::Forbidden(
            "reviewing needs the admin or owner role in the project, or to be one of the model's reviewers"
                .into(),
        ));
    }
    let model =
        rm::Entity::find_by_id(r.model_id).one(db).await?.ok_or(Error::NotFound("registered model"))?;
    let version =
        mv::Entity::find_by_id(r.version_id).one(db).await?.ok_or(Error::NotFound("model version"))?;
    let txn = db.begin().await?;
    // Claim the request (a write): concurrent decisions take turns, and see each other's.
    let claimed = req::Entity::update_many()
        .col_expr(req::Column::State, Expr::value("open"))
        .filter(req::Column::Id.eq(id))
        .filter(req::Column::State.eq("open"))
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Err(Error::Conflict(format!("the request is {}: it takes no more reviews", r.state)));
    }
    let approvals: HashSet<Uuid> = event::Entity::find()
        .filter(event::Column::RequestId.eq(id))
        .filter(event::Column::Kind.eq("approve"))
        .all(&txn)
        .await?
        .into_iter()
        .map(|e| e.user_id)
        .collect();
    if d == Decision::Approve && approvals.contains(&u.id) {
        return Err(Error::Conflict("you already approved this request".into()));
    }
    let kind = if d == Decision::Approve { "approve" } else { "reject" };
    add_event(&txn, id, u, kind, body).await?;
    let e = audit::Entry {
        actor: u,
        action: if d == Decision::Approve { "request.approve" } else { "request.reject" },
        model: &model,
        alias: Some(&r.alias),
        version: Some(version.version),
        request: Some(id),
        detail: json!({"body": body}),
    };
    audit::append(&txn, e).await?;
    let now = now_ms();
    let close = |state: &str| {
        let mut m: req::ActiveModel = r.clone().into();
        m.state = Set(state.to_string());
        m.closed_ms = Set(Some(now));
        m.closed_by = Set(Some(u.id));
        m
    };
    match d {
        Decision::Reject => {
            close("rejected").update(&txn).await?;
        }
        Decision::Approve if approvals.len() as i32 + 1 >= r.required => {
            close("approved").update(&txn).await?;
            super::move_alias(&txn, u, &model, &r.alias, &version, Some(id)).await?;
        }
        Decision::Approve => {}
    }
    txn.commit().await?;
    detail(db, u, id).await
}

async fn add_event<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    u: &user::Model,
    kind: &str,
    body: &str,
) -> Result<()> {
    event::ActiveModel {
        id: Set(Uuid::new_v4()),
        request_id: Set(id),
        user_id: Set(u.id),
        kind: Set(kind.into()),
        body: Set(body.to_string()),
        created_ms: Set(now_ms()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// A comment in the request's thread: anyone who may open requests in the project, or review this one.
pub async fn comment(
    db: &DatabaseConnection,
    u: &user::Model,
    id: Uuid,
    body: &str,
) -> Result<RequestDetail> {
    check_body(body)?;
    if body.trim().is_empty() {
        return Err(Error::invalid("body", "a comment needs text"));
    }
    let (r, a) = load(db, u, id).await?;
    if a.role < Role::Member && !is_reviewer(db, &a, r.model_id, u).await? {
        return Err(Error::Forbidden("commenting needs the member role".into()));
    }
    let model =
        rm::Entity::find_by_id(r.model_id).one(db).await?.ok_or(Error::NotFound("registered model"))?;
    let txn = db.begin().await?;
    add_event(&txn, id, u, "comment", body).await?;
    let e = audit::Entry {
        actor: u,
        action: "request.comment",
        model: &model,
        alias: Some(&r.alias),
        version: None,
        request: Some(id),
        detail: json!({"body": body}),
    };
    audit::append(&txn, e).await?;
    txn.commit().await?;
    detail(db, u, id).await
}

/// Withdraws an open request: its requester, or a project admin.
pub async fn cancel(db: &DatabaseConnection, u: &user::Model, id: Uuid) -> Result<RequestDetail> {
    let (r, a) = load(db, u, id).await?;
    if r.requested_by != u.id && a.role < Role::Admin {
        return Err(Error::Forbidden("only its requester or a project admin cancels a request".into()));
    }
    if r.state != "open" {
        return Err(Error::Conflict(format!("the request is {}", r.state)));
    }
    let model =
        rm::Entity::find_by_id(r.model_id).one(db).await?.ok_or(Error::NotFound("registered model"))?;
    let txn = db.begin().await?;
    let done = req::Entity::update_many()
        .col_expr(req::Column::State, Expr::value("cancelled"))
        .col_expr(req::Column::ClosedMs, Expr::value(now_ms()))
        .col_expr(req::Column::ClosedBy, Expr::value(u.id))
        .filter(req::Column::Id.eq(id))
        .filter(req::Column::State.eq("open"))
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Err(Error::Conflict("the request was closed meanwhile".into()));
    }
    let e = audit::Entry {
        actor: u,
        action: "request.cancel",
        model: &model,
        alias: Some(&r.alias),
        version: None,
        request: Some(id),
        detail: json!({}),
    };
    audit::append(&txn, e).await?;
    txn.commit().await?;
    detail(db, u, id).await
}
