//! A project's registry policy: which aliases are protected (they move only through an approved promotion
//! request) and how many approvals a request needs. A project without a row has the defaults.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::entities::registry_policy as row;
use crate::error::{Error, Result};

/// Protected unless a project says otherwise.
pub const DEFAULT_PROTECTED: [&str; 2] = ["production", "champion"];
pub const MAX_APPROVALS: i32 = 10;
pub const MAX_PROTECTED: usize = 20;
/// The chain's start: the "previous hash" of a project's first audit entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub protected: Vec<String>,
    pub approvals: i32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { protected: DEFAULT_PROTECTED.map(String::from).to_vec(), approvals: 1 }
    }
}

impl Policy {
    pub fn protects(&self, alias: &str) -> bool {
        self.protected.iter().any(|p| p.eq_ignore_ascii_case(alias))
    }
}

pub async fn of<C: ConnectionTrait>(db: &C, project: Uuid) -> Result<Policy> {
    Ok(match row::Entity::find_by_id(project).one(db).await? {
        None => Policy::default(),
        Some(r) => Policy {
            protected: serde_json::from_str(&r.protected_aliases)
                .map_err(|e| Error::Internal(format!("registry policy of {project}: {e}")))?,
            approvals: r.required_approvals,
        },
    })
}

/// The project's row, made with the defaults if it has none (the audit chain's head lives there).
pub async fn ensure<C: ConnectionTrait>(db: &C, project: Uuid) -> Result<()> {
    let d = Policy::default();
    row::Entity::insert(row::ActiveModel {
        project_id: Set(project),
        protected_aliases: Set(serde_json::to_string(&d.protected).unwrap_or_default()),
        required_approvals: Set(d.approvals),
        audit_head: Set(GENESIS.into()),
        audit_count: Set(0),
    })
    .on_conflict(OnConflict::column(row::Column::ProjectId).do_nothing().to_owned())
    .do_nothing()
    .exec(db)
    .await?;
    Ok(())
}

/// Sets the policy (a project admin's call, checked by the caller).
pub async fn set<C: ConnectionTrait>(db: &C, project: Uuid, p: &Policy) -> Result<Policy> {
    if !(1..=MAX_APPROVALS).contains(&p.approvals) {
        return Err(Error::invalid("required_approvals", format!("1 to {MAX_APPROVALS} approvals")));
    }
    if p.protected.len() > MAX_PROTECTED {
        return Err(Error::invalid(
            "protected_aliases",
            format!("at most {MAX_PROTECTED} protected aliases"),
        ));
    }
    let mut protected: Vec<String> = Vec::new();
    for a in &p.protected {
        super::check_alias(a)?;
        if !protected.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            protected.push(a.clone());
        }
    }
    ensure(db, project).await?;
    let mut r: row::ActiveModel =
        row::Entity::find_by_id(project).one(db).await?.ok_or(Error::NotFound("project"))?.into();
    r.protected_aliases = Set(serde_json::to_string(&protected).unwrap_or_default());
    r.required_approvals = Set(p.approvals);
    r.update(db).await?;
    Ok(Policy { protected, approvals: p.approvals })
}
