//! `myelin admin ...`: headless set-up for operators and scripts.

use std::io::Read;

use super::AdminCommand;
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
