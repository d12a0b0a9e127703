//! MLflow's `experiments/search` over a caller's projects: newest first, filtered on the experiment's name
//! (`owner/name`) and tags, paged by a keyset token (the last answer's creation time and id). A page costs what
//! it reads, not the caller's whole list: the database reads the next rows past the token, narrowed by what SQL
//! can answer exactly or as a superset (`name = …`, `name LIKE …`), and the clauses are then checked exactly
//! here, a batch at a time, until the page is full.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};
use uuid::Uuid;

use crate::entities::{member, project, user};
use crate::error::{Error, Result};
use crate::services::project_tags;
use crate::services::tracking::filter::{Clause, Field, Lit, Op};

/// Whose projects: a user's memberships, or a run token's own project.
pub enum Scope {
    MemberOf(Uuid),
    Project(Uuid),
}

/// MLflow's `view_type`.
#[derive(Clone, Copy)]
pub enum View {
    Active,
    Deleted,
    All,
}

pub struct Found {
    pub project: project::Model,
    pub owner: String,
    pub tags: Vec<(String, String)>,
}

pub struct Page {
    pub experiments: Vec<Found>,
    /// Where the next page starts, when there is one.
    pub next: Option<String>,
}

/// Rows read per query while clauses are checked here.
const BATCH: u64 = 500;

pub async fn search(
    db: &DatabaseConnection,
    scope: Scope,
    view: View,
    clauses: &[Clause],
    limit: usize,
    token: Option<&str>,
) -> Result<Page> {
    let mut after = token.map(parse_token).transpose()?;
    let want = limit + 1;
    // Without clauses every row read is an answer: read exactly the page and one more.
    let batch = if clauses.is_empty() { want as u64 } else { BATCH.max(want as u64) };
    let by_tag = clauses.iter().any(|c| matches!(c.field, Field::Tag(_)));
    let mut found = Vec::new();
    loop {
        let rows = query(&scope, view, clauses, after).limit(batch).all(db).await?;
        let exhausted = (rows.len() as u64) < batch;
        after = rows.last().map(|p| (p.created_at, p.id));
        let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
        let mut tags = if by_tag { project_tags::of(db, &ids).await? } else { HashMap::new() };
        let owners = owners(db, &rows).await?;
        for p in rows {
            let owner = owners.get(&p.owner_id).cloned().unwrap_or_default();
            let t = tags.remove(&p.id).unwrap_or_default();
            let name = format!("{owner}/{}", p.name);
            if clauses.iter().all(|c| matches(c, &name, &t)) {
                found.push(Found { project: p, owner, tags: t });
                if found.len() == want {
                    break;
                }
            }
        }
        if found.len() == want || exhausted {
            break;
        }
    }
    let next = (found.len() == want).then(|| {
        found.pop();
        let last = &found.last().expect("a page of at least one").project;
        format!("{}.{}", last.created_at.timestamp_micros(), last.id.simple())
    });
    if !by_tag {
        let mut tags = project_tags::of(db, &found.iter().map(|f| f.project.id).collect::<Vec<_>>()).await?;
        for f in &mut found {
            f.tags = tags.remove(&f.project.id).unwrap_or_default();
        }
    }
    Ok(Page { experiments: found, next })
}

/// The usernames of the rows' owners (one query; a page usually has one or a few).
async fn owners(db: &DatabaseConnection, rows: &[project::Model]) -> Result<HashMap<Uuid, String>> {
    let mut ids: Vec<Uuid> = rows.iter().map(|p| p.owner_id).collect();
    ids.sort();
    ids.dedup();
    let found = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(db).await?;
    Ok(found.into_iter().map(|u| (u.id, u.username)).collect())
}

/// The rows past `after`, newest first, narrowed by the clauses SQL answers as a superset (the owner is joined
/// for the name's first half).
fn query(
    scope: &Scope,
    view: View,
    clauses: &[Clause],
    after: Option<(DateTime<Utc>, Uuid)>,
) -> sea_orm::Select<project::Entity> {
    let mut q =
        project::Entity::find().order_by_desc(project::Column::CreatedAt).order_by_desc(project::Column::Id);
    q = match scope {
        Scope::Project(id) => q.filter(project::Column::Id.eq(*id)),
        Scope::MemberOf(u) => {
            q.join(JoinType::InnerJoin, project::Relation::Member.def()).filter(member::Column::UserId.eq(*u))
        }
    };
    q = match view {
        View::Deleted => q.filter(project::Column::DeletedAt.is_not_null()),
        View::All => q,
        View::Active => q.filter(project::Column::DeletedAt.is_null()),
    };
    if let Some((at, id)) = after {
        q =
            q.filter(Condition::any().add(project::Column::CreatedAt.lt(at)).add(
                Condition::all().add(project::Column::CreatedAt.eq(at)).add(project::Column::Id.lt(id)),
            ));
    }
    let by_name = |c: &&Clause| matches!((&c.field, &c.op), (Field::RunName, Op::Eq | Op::Like));
    if clauses.iter().any(|c| by_name(&c)) {
        q = q.join(JoinType::LeftJoin, project::Relation::Owner.def());
    }
    for c in clauses {
        let (Field::RunName, Lit::Str(v)) = (&c.field, &c.value) else { continue };
        match c.op {
            Op::Eq => {
                let Some((owner, name)) = v.split_once('/') else {
                    return q.filter(Expr::val(1).eq(0)); // no experiment's name lacks the owner
                };
                q = q.filter(user::Column::Username.eq(owner)).filter(project::Column::Name.eq(name));
            }
            // PostgreSQL's LIKE is MLflow's; SQLite's ignores ASCII case (a superset). A backslash would be an
            // escape to PostgreSQL: such patterns are checked here only.
            Op::Like if !v.contains('\\') => {
                let name = Expr::cust(r#"("users"."username" || '/' || "projects"."name")"#);
                q = q.filter(Expr::expr(name).like(v.as_str()));
            }
            _ => {}
        }
    }
    q
}

fn parse_token(t: &str) -> Result<(DateTime<Utc>, Uuid)> {
    let bad = || Error::invalid("page_token", format!("page_token {t:?} is not one this server gave"));
    let (micros, id) = t.split_once('.').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

/// Experiment searches filter on `name` and `tags.KEY` (`=`, `!=`, `LIKE`, `ILIKE`); other clauses match nothing.
fn matches(c: &Clause, name: &str, tags: &[(String, String)]) -> bool {
    let Lit::Str(v) = &c.value else { return false };
    let have = match &c.field {
        Field::RunName => name,
        Field::Tag(k) => match tags.iter().find(|(key, _)| key == k) {
            Some((_, value)) => value.as_str(),
            None => return false,
        },
        _ => return false,
    };
    match c.op {
        Op::Eq => have == v,
        Op::Ne => have != v,
        Op::Like => like(v, have),
        Op::ILike => like(&v.to_lowercase(), &have.to_lowercase()),
        _ => false,
    }
}

/// SQL `LIKE` with `%` and `_`.
fn like(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let mut dp = vec![vec![false; s.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        dp[i][0] = dp[i - 1][0] && p[i - 1] == '%';
        for j in 1..=s.len() {
            dp[i][j] = match p[i - 1] {
                '%' => dp[i - 1][j] || dp[i][j - 1],
                '_' => dp[i - 1][j - 1],
                c => dp[i - 1][j - 1] && c == s[j - 1],
            };
        }
    }
    dp[p.len()][s.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns() {
        assert!(super::like("ali%/proj_", "alice/proj1"));
        assert!(!super::like("ali%/proj_", "alice/proj12"));
        assert!(super::like("%", ""));
    }
}
