//! `myelin admin ...`: headless set-up for operators and scripts.

use std::io::Read;

use super::AdminCommand;
use crate::config::DbArgs;
use crate::services::{accounts, tokens};

pub async fn run(cmd: AdminCommand) -> Result<(), String> {
    match cmd {
        AdminCommand::CreateUser { username, admin, db, .. } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).map_err(|e| format!("reading password: {e}"))?;
            let password = password.trim_end_matches(['\n', '\r']);
            let db = crate::db::connect(&db.url()).await.map_err(|e| e.to_string())?;
            let u =
                accounts::create_user(&db, &username, password, admin).await.map_err(|e| e.to_string())?;
            println!("created user {}{}", u.username, if u.is_admin { " (site admin)" } else { "" });
            Ok(())
        }
        AdminCommand::ReindexArtifacts { project, artifacts_url, db } => {
            reindex(project, artifacts_url, db).await
        }
        AdminCommand::CreateToken { username, name, db } => {
            let db = crate::db::connect(&db.url()).await.map_err(|e| e.to_string())?;
            let u = accounts::user_by_name(&db, &username)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user named {username:?}"))?;
            let t = tokens::create(&db, &u, &name).await.map_err(|e| e.to_string())?;
            println!("{}", t.token);
            Ok(())
        }
    }
}

async fn reindex(project: Option<String>, artifacts_url: Option<String>, args: DbArgs) -> Result<(), String> {
    let db = crate::db::connect(&args.url()).await.map_err(|e| e.to_string())?;
    let store = crate::artifacts::Artifacts::open(artifacts_url.as_deref(), &args.data_dir)
        .map_err(|e| e.to_string())?;
    let project = match project {
        None => None,
        Some(full) => {
            let (owner, name) =
                full.split_once('/').ok_or_else(|| format!("--project {full:?}: expected owner/name"))?;
            use crate::entities::project;
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let missing = || format!("no project {full:?}");
            let o =
                accounts::user_by_name(&db, owner).await.map_err(|e| e.to_string())?.ok_or_else(missing)?;
            let p = project::Entity::find()
                .filter(project::Column::OwnerId.eq(o.id))
                .filter(project::Column::Name.eq(name))
                .one(&db)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(missing)?;
            Some(p.id)
        }
    };
    let done = crate::services::artifact_index::reindex(&db, &store, project, |r, path, size| {
        println!("indexed {} {path} ({size} bytes)", r.id)
    })
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "{} file(s) indexed ({} bytes) in {} run(s); {} already indexed",
        done.added, done.bytes, done.runs, done.known
    );
    Ok(())
}
