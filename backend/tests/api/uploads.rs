//! Uploads in parts through the REST API on both databases: resumable, never partly visible, in order (a part
//! sent ahead waits its turn), each checked against its CRC-32. The CLI's side is in `cli_transfer.rs`.

use std::path::Path;

use axum::http::Method;
use serde_json::json;
use sha2::Digest;

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};
use crate::tracking::{project, queued_run};

pub(crate) fn base(run: &str) -> String {
    format!("/api/v1/projects/ann/p/runs/{run}")
}

/// Bytes that differ from part to part (a part sent in the wrong place changes the digest).
pub(crate) fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

pub(crate) async fn part(
    app: &TestApp,
    u: &TestUser,
    session: &str,
    n: u32,
    body: &[u8],
) -> crate::helpers::Resp {
    app.call(Method::PUT, &format!("{session}/parts/{n}"))
        .bearer(&u.token)
        .raw("application/octet-stream", body.to_vec())
        .send()
        .await
}

/// Waits until the database holds `parts` parts of the session (a part is written down once the store confirms
/// it): what a restarted server resumes from.
pub(crate) async fn landed(app: &TestApp, session: &str, parts: i32) {
    use sea_orm::EntityTrait;
    let id: uuid::Uuid = session.rsplit('/').next().unwrap().parse().unwrap();
    for _ in 0..1000 {
        let row = backend::entities::upload_session::Entity::find_by_id(id).one(&app.db).await.unwrap();
        if row.is_some_and(|r| r.next_part >= parts) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{session}: part {parts} never landed");
}

async fn in_parts_resumable_and_never_partly_visible(app: TestApp) {
    app.state.uploads.set_part_size(1024);
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let body = data(5000);
    let new = json!({"path": "artifacts/big.bin", "size": 5000, "fingerprint": "f1"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(new.clone()).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["part_size"], 1024);
    assert_eq!(r.json["next_part"], 0);
    let session = format!("{}/uploads/{}", base(&run), r.json["id"].as_str().unwrap());

    // Only the next part (or one a little ahead, which waits its turn: `parts_sent_ahead_wait_their_turn`),
    // whole: anything else changes nothing.
    let r = part(&app, &ann, &session, 3, &body[3072..4096]).await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert!(r.message().contains("expects part 0"), "{}", r.json);
    let r = part(&app, &ann, &session, 0, &body[..1000]).await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.message().contains("must have 1024 bytes"), "{}", r.json);
    let r = part(&app, &ann, &session, 0, &body[..1024]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["received"], 1024);
    // A retry of a part the server has (its answer was lost) is acknowledged, not added twice.
    let r = part(&app, &ann, &session, 0, &body[..1024]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!((&r.json["received"], &r.json["next_part"]), (&json!(1024), &json!(1)));
    let r = app.post(&format!("{session}/complete")).bearer(&ann.token).send().await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert!(r.message().contains("1024 of 5000"), "{}", r.json);

    // Nothing at the path until it is complete.
    let file = format!("{}/artifacts/artifacts/big.bin", base(&run));
    assert_eq!(app.get(&file).bearer(&ann.token).send().await.status, 404);
    let listed = app.get("/api/v1/projects/ann/p/artifacts").bearer(&ann.token).send().await;
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(0), "{}", listed.json);

    // The server restarts: the same file again resumes from what the store confirmed, with its digest so far;
    // another file (fingerprint) starts afresh.
    landed(&app, &session, 1).await;
    app.state.uploads.forget();
    assert_eq!(app.get(&session).bearer(&ann.token).send().await.json["received"], 1024);
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(new.clone()).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["received"], 1024);
    assert!(session.ends_with(r.json["id"].as_str().unwrap()));
    let other = json!({"path": "artifacts/big.bin", "size": 5000, "fingerprint": "f2"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(other).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["received"], 0);
    let cancelled = format!("{}/uploads/{}", base(&run), r.json["id"].as_str().unwrap());

    // Only its author sees an upload; a viewer may not start one.
    let bob = app.user("bob").await;
    assert_eq!(app.get(&session).bearer(&bob.token).send().await.status, 404);
    let vic = app.user("vic").await;
    let r = app
        .post("/api/v1/projects/ann/p/members")
        .bearer(&ann.token)
        .json(json!({"username": "vic", "role": "viewer"}))
        .send()
        .await;
    assert!(r.status.is_success(), "{}", r.json);
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&vic.token).json(new.clone()).send().await;
    assert_eq!(r.status, 403, "{}", r.json);
    assert_eq!(part(&app, &vic, &session, 1, &body[1024..2048]).await.status, 403);

    // The rest, then complete: the digest of the whole, once; a repeated complete answers the same.
    for n in 1..5u32 {
        let at = n as usize * 1024;
        let r = part(&app, &ann, &session, n, &body[at..(at + 1024).min(5000)]).await;
        assert_eq!(r.status, 200, "part {n}: {}", r.json);
    }
    let done = app.post(&format!("{session}/complete")).bearer(&ann.token).send().await;
    assert_eq!(done.status, 201, "{}", done.json);
    assert_eq!(done.json["sha256"], hex::encode(sha2::Sha256::digest(&body)));
    assert_eq!(done.json["size"], 5000);
    let again = app.post(&format!("{session}/complete")).bearer(&ann.token).send().await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json, done.json);
    let got = app.get(&file).bearer(&ann.token).send().await;
    assert_eq!(got.status, 200);
    assert!(got.body == body, "the stored file differs");
    let listed = app.get("/api/v1/projects/ann/p/artifacts").bearer(&ann.token).send().await;
    assert_eq!(listed.json["items"][0]["path"], "artifacts/big.bin", "{}", listed.json);
    let usage = {
        use backend::entities::project;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        project::Entity::find().filter(project::Column::Name.eq("p")).one(&app.db).await.unwrap().unwrap()
    };
    assert_eq!(usage.artifact_bytes, 5000, "counted against the quota");

    // Cancelled: its parts go, nothing appears, it is no longer there.
    assert_eq!(part(&app, &ann, &cancelled, 0, &body[..1024]).await.status, 200);
    let r = app.call(Method::DELETE, &cancelled).bearer(&ann.token).send().await;
    assert_eq!(r.status, 204, "{}", r.json);
    assert_eq!(app.get(&cancelled).bearer(&ann.token).send().await.status, 404);
    assert_eq!(part(&app, &ann, &cancelled, 1, &body[1024..2048]).await.status, 404);

    // Past the quota: refused before any byte is sent, in words that name the setting.
    app.state.artifacts.set_quota(backend::artifacts::Quota { bytes: 6000, files: 100 });
    let big = json!({"path": "artifacts/huge.bin", "size": 1001, "fingerprint": "f3"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(big).send().await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert!(r.message().contains("--artifact-quota-bytes"), "{}", r.json);
    // A session idle for a day is aborted: its parts go, and it is no longer there.
    app.state.artifacts.set_quota(backend::artifacts::Quota { bytes: 1 << 30, files: 100 });
    let idle = json!({"path": "artifacts/idle.bin", "size": 5000, "fingerprint": "f4"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(idle).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    let idle = format!("{}/uploads/{}", base(&run), r.json["id"].as_str().unwrap());
    assert_eq!(part(&app, &ann, &idle, 0, &body[..1024]).await.status, 200);
    landed(&app, &idle, 1).await;
    let staging = app.state.artifacts.location.strip_prefix("file://").map(|d| Path::new(d).join(".uploads"));
    let staged = || staging.as_ref().map_or(0, |d| std::fs::read_dir(d).map_or(0, |e| e.count()));
    assert_eq!(staged(), 1, "its parts are staged");
    {
        use backend::entities::upload_session;
        use sea_orm::{ConnectionTrait, EntityTrait, QueryTrait};
        let stale = upload_session::Entity::update_many()
            .col_expr(upload_session::Column::TouchedMs, sea_orm::sea_query::Expr::value(0i64))
            .build(app.db.get_database_backend());
        app.db.execute(stale).await.unwrap();
    }
    app.state.uploads.forget();
    let next = json!({"path": "artifacts/next.bin", "size": 10, "fingerprint": "f5"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(next).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(app.get(&idle).bearer(&ann.token).send().await.status, 404);
    assert_eq!(staged(), 1, "only the new upload's parts are staged");
    // Traversal is refused like everywhere else.
    let bad = json!({"path": "artifacts/../../x", "size": 10});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(bad).send().await;
    assert_eq!(r.status, 400, "{}", r.json);
}

both_dbs!(in_parts_resumable_and_never_partly_visible);

/// A part sent while the one before it is still on its way (another connection) waits for it instead of being
/// refused, so a client keeps its link busy; a part that never gets its turn is refused in the end.
async fn parts_sent_ahead_wait_their_turn(app: TestApp) {
    app.state.uploads.set_part_size(1024);
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let body = data(3000);
    let new = json!({"path": "artifacts/ahead.bin", "size": 3000, "fingerprint": "f1"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(new).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    let session = format!("{}/uploads/{}", base(&run), r.json["id"].as_str().unwrap());
    let (second, first) = tokio::join!(part(&app, &ann, &session, 1, &body[1024..2048]), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        part(&app, &ann, &session, 0, &body[..1024]).await
    });
    assert_eq!(first.status, 200, "{}", first.json);
    assert_eq!(first.json["received"], 1024, "part 0 came first: {}", first.json);
    assert_eq!(second.status, 200, "{}", second.json);
    assert_eq!(second.json["received"], 2048, "part 1 was taken after part 0: {}", second.json);
    assert_eq!(part(&app, &ann, &session, 2, &body[2048..]).await.status, 200);
    let done = app.post(&format!("{session}/complete")).bearer(&ann.token).send().await;
    assert_eq!(done.status, 201, "{}", done.json);
    assert_eq!(done.json["sha256"], hex::encode(sha2::Sha256::digest(&body)));
}

both_dbs!(parts_sent_ahead_wait_their_turn);

/// A part whose bytes do not match the CRC-32 sent with them is refused and not kept; so is a malformed one.
async fn damaged_parts_are_refused(app: TestApp) {
    app.state.uploads.set_part_size(1024);
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let body = data(2048);
    let new = json!({"path": "artifacts/crc.bin", "size": 2048, "fingerprint": "f1"});
    let r = app.post(&format!("{}/uploads", base(&run))).bearer(&ann.token).json(new).send().await;
    let session = format!("{}/uploads/{}", base(&run), r.json["id"].as_str().unwrap());
    let send = |crc: String, bytes: Vec<u8>| {
        app.call(Method::PUT, &format!("{session}/parts/0"))
            .bearer(&ann.token)
            .header(api_types::CRC32_HEADER, &crc)
            .raw("application/octet-stream", bytes)
            .send()
    };
    let good = format!("{:08x}", crc32fast::hash(&body[..1024]));
    let mut damaged = body[..1024].to_vec();
    damaged[500] ^= 1;
    let r = send(good.clone(), damaged).await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.message().contains("arrived damaged"), "{}", r.json);
    for bad in ["xyz", "123456789", ""] {
        let r = send(bad.into(), body[..1024].to_vec()).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.json);
        assert!(r.message().contains("8 hex digits"), "{}", r.json);
    }
    assert_eq!(app.get(&session).bearer(&ann.token).send().await.json["received"], 0, "nothing was kept");
    let r = send(good, body[..1024].to_vec()).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["received"], 1024);
}

both_dbs!(damaged_parts_are_refused);

/// Upgrading keeps the parts of uploads under way (a JSON list in the session's row before m0020, a row each
/// after), and going back down puts them back.
async fn the_parts_migration_keeps_uploads_under_way(app: TestApp) {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, EntityTrait, Statement};
    // Back to before m0020, whatever came after it (their own way down is taken too).
    let all = Migrator::migrations();
    let since = all.iter().rev().position(|m| m.name() == "m0020_upload_parts").expect("m0020") as u32 + 1;
    Migrator::down(&app.db, Some(since)).await.unwrap();
    let id = uuid::Uuid::new_v4();
    let backend = app.db.get_database_backend();
    let insert = Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO upload_sessions (id, user_id, project_id, run_id, path, size, part_size, fingerprint, \
                 store_id, parts, next_part, digest, touched_ms) VALUES ($1, $1, $1, $1, 'a', 10, 5, 'f', 's', $2, 2, 'd', 0)"
            }
            _ => {
                "INSERT INTO upload_sessions (id, user_id, project_id, run_id, path, size, part_size, fingerprint, \
                 store_id, parts, next_part, digest, touched_ms) VALUES (?1, ?1, ?1, ?1, 'a', 10, 5, 'f', 's', ?2, 2, 'd', 0)"
            }
        },
        [id.into(), r#"["\"etag-0\"","\"etag-1\""]"#.into()],
    );
    app.db.execute(insert).await.unwrap();
    Migrator::up(&app.db, None).await.unwrap();
    let parts = backend::entities::upload_part::Entity::find().all(&app.db).await.unwrap();
    let got: Vec<(uuid::Uuid, i32, &str)> =
        parts.iter().map(|p| (p.upload_id, p.n, p.part_id.as_str())).collect();
    assert_eq!(got, vec![(id, 0, "\"etag-0\""), (id, 1, "\"etag-1\"")]);
    Migrator::down(&app.db, Some(since)).await.unwrap();
    let row = app
        .db
        .query_one(Statement::from_string(backend, "SELECT parts FROM upload_sessions"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "parts").unwrap(), r#"["\"etag-0\"","\"etag-1\""]"#);
    Migrator::up(&app.db, None).await.unwrap();
}

both_dbs!(the_parts_migration_keeps_uploads_under_way);
