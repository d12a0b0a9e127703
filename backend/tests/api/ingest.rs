//! The tracking writer (`services::tracking::ingest`): batches from concurrent clients grouped into shared
//! transactions, each answered on its own; a refused batch refuses nothing else; keys merged off the request
//! path; a write lock held elsewhere makes a batch wait, never fail or vanish. Access taken away stops the next
//! batch, though the logging path keeps grants for a moment (`auth::cache`).

use std::time::Duration;

use futures_util::future::join_all;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use serde_json::json;

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::tracking::{ann_with_a_run, hex, project, queued_run};

both_dbs!(
    concurrent_batches_are_each_stored_and_answered,
    a_batch_waits_for_a_write_lock_held_elsewhere,
    access_taken_away_stops_the_next_batch,
    a_merge_takes_a_runs_due_keys_together,
    every_durability_stores_every_point,
    a_runs_chunks_go_with_it_and_a_batch_for_a_deleted_run_fails_whole,
    a_journaled_batch_survives_a_crash_before_it_reaches_the_database,
);

/// A run's chunks are deleted with the run or its project (PostgreSQL: a trigger, as `metric_chunks` has no
/// foreign key there), and a batch that reaches the writer after its run was deleted stores nothing.
async fn a_runs_chunks_go_with_it_and_a_batch_for_a_deleted_run_fails_whole(app: TestApp) {
    use backend::entities::{project, run};
    use backend::services::tracking::{self, ingest::Ingest, Point};
    let (ann, id) = ann_with_a_run(&app).await;
    let r = run::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap()).one(&app.db).await.unwrap().unwrap();
    let point = |step: i64| Point { key: "loss".into(), value: step as f64, timestamp: 1000 + step, step };
    for step in 0..40 {
        tracking::log(&app.db, &r, &[point(step)], &[], &[]).await.unwrap();
    }
    assert!(chunk_count(&app, r.id, "loss").await > 1);
    run::Entity::delete_by_id(r.id).exec(&app.db).await.unwrap();
    assert_eq!(chunk_count(&app, r.id, "loss").await, 0, "a deleted run's chunks are deleted with it");

    // Without a journal a batch waits for the database, and hears its refusal.
    let ingest = Ingest::start(app.db.clone(), Default::default(), None);
    let late = ingest.log(&(&r).into(), vec![point(41)], vec![], vec![]).await;
    assert!(late.is_err(), "a batch for a deleted run is refused: {late:?}");
    assert_eq!(chunk_count(&app, r.id, "loss").await, 0, "and leaves no chunk behind");

    let (other, _) = queued_run(&app, &ann).await;
    let other =
        run::Entity::find_by_id(other.parse::<uuid::Uuid>().unwrap()).one(&app.db).await.unwrap().unwrap();
    tracking::log(&app.db, &other, &[point(1)], &[], &[]).await.unwrap();
    assert_eq!(chunk_count(&app, other.id, "loss").await, 1);
    project::Entity::delete_by_id(other.project_id).exec(&app.db).await.unwrap();
    assert_eq!(
        chunk_count(&app, other.id, "loss").await,
        0,
        "a deleted project's chunks are deleted with it"
    );
}

/// PostgreSQL: a batch is answered once it is in the server's tracking journal, before the database has it. A
/// crash then loses nothing: the next writer on the same journal writes it, once. A journaled batch the
/// database refuses (its run deleted since) is dropped, and the batches after it are written.
async fn a_journaled_batch_survives_a_crash_before_it_reaches_the_database(app: TestApp) {
    use backend::entities::run;
    use backend::services::runs::access::RunRef;
    use backend::services::tracking::ingest::{Durability, Ingest};
    use backend::services::tracking::Point;
    use sea_orm::DbBackend;
    let point = |step: i64| Point { key: "loss".into(), value: step as f64, timestamp: 1000 + step, step };
    let (ann, id) = ann_with_a_run(&app).await;
    let r = run::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap()).one(&app.db).await.unwrap().unwrap();
    let journal = crate::helpers::temp_dir("myelin-journal-");
    if app.db.get_database_backend() != DbBackend::Postgres {
        // SQLite commits a batch before answering it (in microseconds): no journal is kept.
        let ingest = Ingest::start(app.db.clone(), Durability::Process, Some(journal.path()));
        ingest.log(&(&r).into(), vec![point(0)], vec![], vec![]).await.unwrap();
        assert_eq!(chunk_count(&app, r.id, "loss").await, 1);
        assert!(!journal.path().join("shard-0.log").exists());
        return;
    }

    // The database is held: the writer behind the journal cannot move its mark, so nothing it writes commits.
    let hold = app.db.begin().await.unwrap();
    hold.execute_unprepared("LOCK TABLE tracking_journal_marks IN EXCLUSIVE MODE").await.unwrap();
    let options = app.db.get_postgres_connection_pool().connect_options().as_ref().clone();
    let (dir, rref): (std::path::PathBuf, RunRef) = (journal.path().into(), (&r).into());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async {
            let pool = sea_orm::sqlx::postgres::PgPoolOptions::new().connect_with(options).await.unwrap();
            let db = sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
            let ingest = Ingest::start(db, Durability::Process, Some(&dir));
            for step in 0..5 {
                let logged = tokio::time::timeout(
                    Duration::from_secs(10),
                    ingest.log(&rref, vec![point(step)], vec![], vec![]),
                );
                logged.await.expect("answered before the database has it").unwrap();
            }
        });
        // The crash: every task of that server stops here, mid-write.
        drop(rt);
    })
    .join()
    .unwrap();
    // Its statement, waiting for the lock, goes with its process (as a crashed server's connections do).
    let waiting =
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    app.db.execute_unprepared(&format!("SELECT pg_terminate_backend(pid) FROM ({waiting}) w")).await.unwrap();
    for _ in 0..500 {
        let left =
            app.db.query_all(sea_orm::Statement::from_string(DbBackend::Postgres, waiting)).await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hold.rollback().await.unwrap();
    assert_eq!(chunk_count(&app, r.id, "loss").await, 0, "the answered batches had not reached the database");

    // The next start writes what the journal holds.
    let ingest = Ingest::start(app.db.clone(), Durability::Process, Some(journal.path()));
    assert!(ingest.settled().await);
    assert_eq!(history_steps(&app, &ann.token, &id, "loss").await, (0..5).collect::<Vec<_>>());
    drop(ingest);
    // Its writers let go of the journal once they have seen the handle go.
    use backend::services::tracking::ingest::journal::Journal;
    for _ in 0..500 {
        if Journal::open(journal.path(), 0).is_ok() && Journal::open(journal.path(), 1).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // And only once: a start after that writes nothing again. A batch for a run deleted since it was answered is
    // dropped; the batches after it are written.
    let ingest = Ingest::start(app.db.clone(), Durability::Process, Some(journal.path()));
    let (gone, _) = queued_run(&app, &ann).await;
    let gone =
        run::Entity::find_by_id(gone.parse::<uuid::Uuid>().unwrap()).one(&app.db).await.unwrap().unwrap();
    let gone_ref: RunRef = (&gone).into();
    run::Entity::delete_by_id(gone.id).exec(&app.db).await.unwrap();
    ingest.log(&gone_ref, vec![point(0)], vec![], vec![]).await.unwrap();
    ingest.log(&(&r).into(), vec![point(5)], vec![], vec![]).await.unwrap();
    assert!(ingest.settled().await);
    assert_eq!(history_steps(&app, &ann.token, &id, "loss").await, (0..6).collect::<Vec<_>>());
    assert_eq!(chunk_count(&app, gone.id, "loss").await, 0);
    let count: i64 = app
        .db
        .query_one(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count FROM latest_metrics WHERE run_id = $1 AND key = 'loss'",
            [r.id.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "count")
        .unwrap();
    assert_eq!(count, 6, "each point counted once");
}

/// Both `--metrics-durability` settings (the writers' commits wait for the disk or not) store every point, merges
/// included.
async fn every_durability_stores_every_point(app: TestApp) {
    use backend::entities::run;
    use backend::services::tracking::ingest::{Durability, Ingest};
    use backend::services::tracking::Point;
    let (ann, id) = ann_with_a_run(&app).await;
    let r = run::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap()).one(&app.db).await.unwrap().unwrap();
    let journal = tempfile::tempdir().unwrap();
    for (durability, key) in [(Durability::Disk, "disk"), (Durability::Process, "process")] {
        let ingest = Ingest::start(app.db.clone(), durability, Some(journal.path()));
        for step in 0..40i64 {
            let point = Point { key: key.into(), value: step as f64, timestamp: 1000 + step, step };
            ingest.log(&(&r).into(), vec![point], vec![], vec![]).await.unwrap();
        }
        // This writer is not the server's: its journaled batches are read once it says they are in.
        assert!(ingest.settled().await);
        assert_eq!(history_steps(&app, &ann.token, &id, key).await, (0..40).collect::<Vec<_>>(), "{key}");
    }
}

/// The seeding path (`tracking::log`) merges what a batch made due at once: here three keys in one merge.
async fn a_merge_takes_a_runs_due_keys_together(app: TestApp) {
    use backend::entities::run;
    use backend::services::tracking::{self, Point};
    let (ann, id) = ann_with_a_run(&app).await;
    let r = run::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap()).one(&app.db).await.unwrap().unwrap();
    for step in 0..40i64 {
        let points: Vec<Point> = (0..3)
            .map(|k| Point {
                key: format!("k{k}"),
                value: step as f64 + k as f64,
                timestamp: 1000 + step,
                step,
            })
            .collect();
        tracking::log(&app.db, &r, &points, &[], &[]).await.unwrap();
    }
    for key in ["k0", "k1", "k2"] {
        let chunks = chunk_count(&app, r.id, key).await;
        // The first 32 batches merged into one chunk when they fell due; the 8 after it wait for the next.
        assert_eq!(chunks, 9, "{key}");
        let steps = history_steps(&app, &ann.token, &id, key).await;
        assert_eq!(steps, (0..40).collect::<Vec<_>>(), "{key}");
    }
}

/// PostgreSQL only: SQLite has one writer, so a merge there never meets a batch mid-write.
#[tokio::test]
async fn a_merge_skips_keys_a_batch_is_writing() {
    use backend::services::tracking::{chunks, MetricKey};
    let Some(app) = TestApp::postgres().await else { return };
    let (ann, run) = ann_with_a_run(&app).await;
    for step in 0..3 {
        let r = app
            .post("/api/2.0/mlflow/runs/log-batch")
            .bearer(&ann.token)
            .json(batch(&run, step))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        // In the database, not only answered (PostgreSQL writes batches behind its journal), each on its own.
        assert!(app.state.ingest.settled().await);
    }
    let id: uuid::Uuid = run.parse().unwrap();
    let sql = |q: &str| sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, q, [id.into()]);
    let pending = |key: &'static str| {
        let app = &app;
        async move {
            let q = format!("SELECT pending FROM latest_metrics WHERE run_id = $1 AND key = '{key}'");
            app.db.query_one(sql(&q)).await.unwrap().unwrap().try_get::<i32>("", "pending").unwrap()
        }
    };
    // Two keys due; a batch is writing one of them (its row locked, its transaction open).
    app.db
        .execute(sql("UPDATE latest_metrics SET pending = 32 WHERE run_id = $1 AND key IN ('m0', 'm1')"))
        .await
        .unwrap();
    let batch_writing = app.db.begin().await.unwrap();
    batch_writing
        .execute(sql("UPDATE latest_metrics SET count = count WHERE run_id = $1 AND key = 'm0'"))
        .await
        .unwrap();
    let due = [(id, MetricKey::parse("m0").unwrap()), (id, MetricKey::parse("m1").unwrap())];
    let count = |key: &'static str| chunk_count(&app, id, key);
    // The merge does not wait for it: it merges the other key and leaves this one due.
    tokio::time::timeout(Duration::from_secs(2), chunks::compact(&app.db, &due))
        .await
        .expect("the merge waited for a batch's row lock")
        .unwrap();
    assert_eq!((pending("m0").await, pending("m1").await), (32, 0));
    assert_eq!((count("m0").await, count("m1").await), (3, 1));
    // Once the batch has committed, the key's next merge takes it.
    batch_writing.commit().await.unwrap();
    chunks::compact(&app.db, &due).await.unwrap();
    assert_eq!((pending("m0").await, count("m0").await), (0, 1));
    let steps = history_steps(&app, &ann.token, &run, "m0").await;
    assert_eq!(steps, vec![0, 1, 2]);
}

/// The steps of `key`'s history in `run`, as MLflow's `get-history` answers them.
async fn history_steps(app: &TestApp, token: &str, run: &str, key: &str) -> Vec<i64> {
    let h = app
        .get(&format!("/api/2.0/mlflow/metrics/get-history?run_id={}&metric_key={key}", hex(run)))
        .bearer(token)
        .send()
        .await;
    let steps = h.json["metrics"].as_array().unwrap_or_else(|| panic!("{}", h.json));
    steps.iter().map(|m| m["step"].as_i64().unwrap()).collect()
}

/// How many chunks hold `key` of `run`.
async fn chunk_count(app: &TestApp, run: uuid::Uuid, key: &str) -> u64 {
    use backend::entities::metric_chunk;
    metric_chunk::Entity::find()
        .filter(metric_chunk::Column::RunId.eq(run))
        .filter(metric_chunk::Column::Key.eq(key))
        .count(&app.db)
        .await
        .unwrap()
}

const RUNS: usize = 6;
const BATCHES: i64 = 40;

fn batch(run: &str, step: i64) -> serde_json::Value {
    let metrics: Vec<_> = (0..4)
        .map(|k| json!({"key": format!("m{k}"), "value": step as f64 + k as f64 / 10.0, "timestamp": 1000 + step, "step": step}))
        .collect();
    json!({"run_id": hex(run), "metrics": metrics})
}

async fn concurrent_batches_are_each_stored_and_answered(app: TestApp) {
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(queued_run(&app, &ann).await);
    }
    // Six clients at once, the first through its run's own token; the second also logs a param twice, the
    // second time with another value (refused).
    let clients = runs.iter().enumerate().map(|(i, (run, run_token))| {
        let (app, token) = (&app, if i == 0 { run_token.clone() } else { ann.token.clone() });
        async move {
            let mut refused = Vec::new();
            for step in 0..BATCHES {
                let mut body = batch(run, step);
                if i == 1 && (step == 10 || step == 20) {
                    body["params"] = json!([{"key": "lr", "value": if step == 10 { "0.1" } else { "0.2" }}]);
                }
                let r = app.post("/api/2.0/mlflow/runs/log-batch").bearer(&token).json(body).send().await;
                if r.status != 200 {
                    refused.push((
                        step,
                        r.status.as_u16(),
                        r.json["message"].as_str().unwrap_or("").to_string(),
                    ));
                }
            }
            refused
        }
    });
    let refused = join_all(clients).await;
    for (i, r) in refused.iter().enumerate() {
        if i == 1 {
            assert_eq!(r.len(), 1, "{r:?}");
            assert_eq!((r[0].0, r[0].1), (20, 400), "{r:?}");
            assert!(r[0].2.contains("changing param values is not allowed"), "{r:?}");
        } else {
            assert!(r.is_empty(), "client {i}: {r:?}");
        }
    }
    for (i, (run, _)) in runs.iter().enumerate() {
        let got =
            app.get(&format!("/api/2.0/mlflow/runs/get?run_id={}", hex(run))).bearer(&ann.token).send().await;
        let metrics = got.json["run"]["data"]["metrics"].as_array().unwrap().clone();
        assert_eq!(metrics.len(), 4, "{}", got.json);
        let m3 = metrics.iter().find(|m| m["key"] == "m3").unwrap();
        assert_eq!(
            (m3["step"].as_i64(), m3["value"].as_f64()),
            (Some(BATCHES - 1), Some(BATCHES as f64 - 0.7))
        );
        let steps = history_steps(&app, &ann.token, run, "m2").await;
        // Step 20 of client 1 was refused whole: its points are not stored either.
        let want: Vec<i64> = (0..BATCHES).filter(|s| i != 1 || *s != 20).collect();
        assert_eq!(steps, want, "run {i}");
        if i == 1 {
            assert_eq!(got.json["run"]["data"]["params"], json!([{"key": "lr", "value": "0.1"}]));
        }
    }
    // No key is left with `COMPACT_AT` unmerged chunks: each is merged after the answers, off the request path.
    // (SQLite writes a chunk per batch, so every key is merged once; PostgreSQL writes the batches that gathered
    // behind its journal together, a chunk per key for all of them.)
    use backend::services::tracking::chunks::COMPACT_AT;
    let mut most = 0;
    for _ in 0..100 {
        let mut counts = Vec::new();
        for (run, _) in &runs {
            counts.push(chunk_count(&app, run.parse().unwrap(), "m0").await);
        }
        most = counts.into_iter().max().unwrap_or(0);
        if most < COMPACT_AT as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(most < COMPACT_AT as u64, "{most} chunks of m0 left unmerged");
    // PostgreSQL moves merged chunks out of line with lz4, not pglz (a quarter of its CPU under ingest).
    if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let row = app
            .db
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT attcompression::text AS c FROM pg_attribute \
                 WHERE attrelid = 'metric_chunks'::regclass AND attname = 'data'",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<String>("", "c").unwrap(), "l");
    }
}

/// A write lock held elsewhere holds the batch up, never fails or loses it. SQLite: the batch waits for it.
/// PostgreSQL: the batch is answered once in the journal, and a read waits until it is in the database.
async fn a_batch_waits_for_a_write_lock_held_elsewhere(app: TestApp) {
    let (ann, run) = ann_with_a_run(&app).await;
    let r = app.post("/api/2.0/mlflow/runs/log-batch").bearer(&ann.token).json(batch(&run, 0)).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    let journaled = app.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    // In the database, not only answered: the lock below then holds its row.
    assert!(app.state.ingest.settled().await);
    // Another connection writes the run's latest values and holds its transaction open: SQLite's write lock
    // (the writer's own connection finds it taken), PostgreSQL's row locks.
    let txn = app.db.begin().await.unwrap();
    let id: uuid::Uuid = run.parse().unwrap();
    txn.execute(sea_orm::Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE latest_metrics SET count = count WHERE run_id = $1",
        [id.into()],
    ))
    .await
    .unwrap();
    let history = || {
        app.get(&format!("/api/2.0/mlflow/metrics/get-history?run_id={}&metric_key=m1", hex(&run)))
            .bearer(&ann.token)
            .send()
    };
    let logging = app.post("/api/2.0/mlflow/runs/log-batch").bearer(&ann.token).json(batch(&run, 1)).send();
    let mut logging = Box::pin(logging);
    let waited = tokio::time::timeout(Duration::from_millis(400), &mut logging).await;
    let mut reading = Box::pin(history());
    if journaled {
        let r = waited.expect("a journaled batch is answered before the database has it");
        assert_eq!(r.status, 200, "{}", r.json);
        let read = tokio::time::timeout(Duration::from_millis(400), &mut reading).await;
        assert!(read.is_err(), "a read went around an answered batch the database does not have yet");
    } else {
        assert!(waited.is_err(), "the batch was written through a held lock");
    }
    txn.commit().await.unwrap();
    if !journaled {
        let r =
            tokio::time::timeout(Duration::from_secs(5), logging).await.expect("the batch waited too long");
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let h = tokio::time::timeout(Duration::from_secs(5), reading).await.expect("the read waited too long");
    assert_eq!(h.json["metrics"].as_array().map(Vec::len), Some(2), "{}", h.json);
}

async fn access_taken_away_stops_the_next_batch(app: TestApp) {
    use axum::http::Method;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    project(&app, &ann, "p").await;
    let (run, _) = queued_run(&app, &ann).await;
    let add = json!({"username": "bob", "role": "member"});
    let r = app.post("/api/v1/projects/ann/p/members").bearer(&ann.token).json(add).send().await;
    assert_eq!(r.status, 201, "{}", r.json);
    let log = |token: &str, step: i64| {
        app.post("/api/2.0/mlflow/runs/log-batch").bearer(token).json(batch(&run, step)).send()
    };
    let status =
        |r: crate::helpers::Resp| (r.status.as_u16(), r.json["error_code"].as_str().map(str::to_string));

    // A member removed: their next batch finds no run.
    assert_eq!(log(&bob.token, 0).await.status, 200);
    assert_eq!(log(&bob.token, 1).await.status, 200);
    let r = app.call(Method::DELETE, "/api/v1/projects/ann/p/members/bob").bearer(&ann.token).send().await;
    assert_eq!(r.status, 204, "{}", r.json);
    assert_eq!(status(log(&bob.token, 2).await), (404, Some("RESOURCE_DOES_NOT_EXIST".into())));

    // A token revoked: refused at once.
    let t = app.post("/api/v1/user/tokens").bearer(&ann.token).json(json!({"name": "job"})).send().await;
    let (secret, id) =
        (t.json["token"].as_str().unwrap().to_string(), t.json["id"].as_str().unwrap().to_string());
    assert_eq!(log(&secret, 3).await.status, 200);
    assert_eq!(log(&secret, 4).await.status, 200);
    let r = app.call(Method::DELETE, &format!("/api/v1/user/tokens/{id}")).bearer(&ann.token).send().await;
    assert_eq!(r.status, 204);
    assert_eq!(status(log(&secret, 5).await).0, 401);

    // The run deleted (MLflow's soft delete): the next batch is refused, nothing is written.
    let set_deleted = |path: &'static str| {
        app.post(&format!("/api/2.0/mlflow/runs/{path}"))
            .bearer(&ann.token)
            .json(json!({"run_id": hex(&run)}))
            .send()
    };
    assert_eq!(log(&ann.token, 6).await.status, 200);
    let r = set_deleted("delete").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(status(log(&ann.token, 7).await), (400, Some("INVALID_STATE".into())));
    let r = set_deleted("restore").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let steps = history_steps(&app, &ann.token, &run, "m0").await;
    assert_eq!(steps, vec![0, 1, 3, 4, 6]);
}
