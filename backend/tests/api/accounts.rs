//! Sign-up, log-in, sessions, passwords, rate limits and CSRF.

use serde_json::json;

use crate::both_dbs;
use crate::helpers::{TestApp, PASSWORD};

both_dbs!(
    first_user_is_admin_and_signup_can_be_closed,
    the_first_admin_cannot_be_claimed_twice_by_racing_sign_ups,
    invitations_let_people_in_once_before_they_expire,
    a_disabled_account_loses_its_sessions_and_tokens_at_once,
    api_tokens_may_expire,
    the_audit_log_records_who_did_what_from_where,
    wrong_user_and_wrong_password_get_the_same_answer,
    login_is_rate_limited_per_account,
    session_cookie_is_httponly_lax_and_cycled_at_login,
    forged_expired_and_logged_out_sessions_are_anonymous,
    cookie_mutations_need_a_same_site_origin,
    password_change_checks_the_current_one_and_ends_other_sessions,
    bad_signup_input_is_refused_with_the_field,
);

async fn first_user_is_admin_and_signup_can_be_closed(app: TestApp) {
    let signup = |name: &'static str| {
        app.post("/api/v1/auth/signup").json(json!({"username": name, "password": PASSWORD})).send()
    };
    let first = signup("Root").await;
    assert_eq!(first.status, 201, "{:?}", first.json);
    assert_eq!(first.json["username"], "root");
    assert_eq!(first.json["is_admin"], true);
    // Closed by default once the admin exists.
    let second = signup("ann").await;
    assert_eq!((second.status.as_u16(), second.error()), (403, "signup_closed"), "{}", second.json);

    let root_cookie = first.session_cookie().unwrap();
    let set = |open: bool| {
        app.call(axum::http::Method::PUT, "/api/v1/admin/settings")
            .cookie(&root_cookie)
            .same_origin()
            .json(json!({"signup_open": open}))
            .send()
    };
    assert_eq!(set(true).await.status, 200);
    let opened = signup("ann").await;
    assert_eq!(
        (opened.status.as_u16(), opened.json["is_admin"].as_bool()),
        (201, Some(false)),
        "{}",
        opened.json
    );
    assert_eq!(set(false).await.status, 200);
    let refused = signup("bo").await;
    assert_eq!((refused.status.as_u16(), refused.error()), (403, "signup_closed"));
    assert!(backend::services::accounts::user_by_name(&app.db, "bo").await.unwrap().is_none());
}

async fn the_first_admin_cannot_be_claimed_twice_by_racing_sign_ups(app: TestApp) {
    let names = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"];
    let answers =
        futures_util::future::join_all(names.iter().map(|n| {
            app.post("/api/v1/auth/signup").json(json!({"username": n, "password": PASSWORD})).send()
        }))
        .await;
    let admins = answers.iter().filter(|r| r.status == 201 && r.json["is_admin"] == true).count();
    let refused = answers.iter().filter(|r| r.error() == "signup_closed").count();
    assert_eq!(
        (admins, refused),
        (1, names.len() - 1),
        "{:?}",
        answers.iter().map(|r| &r.json).collect::<Vec<_>>()
    );
}

async fn invitations_let_people_in_once_before_they_expire(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let root =
        app.post("/api/v1/auth/signup").json(json!({"username": "root", "password": PASSWORD})).send().await;
    let cookie = root.session_cookie().unwrap();
    let invite = |body: serde_json::Value| {
        app.post("/api/v1/admin/invitations").cookie(&cookie).same_origin().json(body).send()
    };
    let made = invite(json!({"note": "for ann", "valid_hours": 2})).await;
    assert_eq!(made.status, 201, "{}", made.json);
    let token = made.json["token"].as_str().unwrap().to_string();
    assert_eq!((made.json["state"].as_str(), made.json["note"].as_str()), (Some("pending"), Some("for ann")));
    let with = |name: &'static str, token: &str| {
        app.post("/api/v1/auth/signup")
            .json(json!({"username": name, "password": PASSWORD, "invitation": token}))
            .send()
    };
    let wrong = with("eve", "myelin_not-a-real-invitation").await;
    assert_eq!(wrong.status, 403, "{}", wrong.json);
    // A bad sign-up with a good link gives the link back.
    let taken = with("root", &token).await;
    assert_eq!(taken.status, 409, "{}", taken.json);
    let ann = with("ann", &token).await;
    assert_eq!((ann.status.as_u16(), ann.json["is_admin"].as_bool()), (201, Some(false)), "{}", ann.json);
    let again = with("bob", &token).await;
    assert_eq!(again.status, 403, "a link is used once: {}", again.json);
    assert!(again.json["message"].as_str().unwrap().contains("used, revoked or has expired"));
    let listed = app.get("/api/v1/admin/invitations").cookie(&cookie).send().await;
    assert_eq!(listed.json[0]["state"], "used", "{}", listed.json);
    assert!(listed.json[0].get("token").is_none(), "tokens are shown once");
    // Expired and revoked links let nobody in.
    let old = invite(json!({})).await;
    let old_token = old.json["token"].as_str().unwrap().to_string();
    let past = if app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        "now() - interval '1 hour'"
    } else {
        "'2000-01-01T00:00:00+00:00'"
    };
    app.db
        .execute_unprepared(&format!("UPDATE invitations SET expires_at = {past} WHERE used_at IS NULL"))
        .await
        .unwrap();
    assert_eq!(with("carl", &old_token).await.status, 403);
    let revoked = invite(json!({})).await;
    let id = revoked.json["id"].as_str().unwrap();
    let del = app
        .call(axum::http::Method::DELETE, &format!("/api/v1/admin/invitations/{id}"))
        .cookie(&cookie)
        .same_origin()
        .send()
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(with("dora", revoked.json["token"].as_str().unwrap()).await.status, 403);
    for (body, field) in
        [(json!({"valid_hours": 0}), "valid_hours"), (json!({"valid_hours": 100000}), "valid_hours")]
    {
        let r = invite(body).await;
        assert_eq!((r.status.as_u16(), r.json["field"].as_str()), (400, Some(field)), "{}", r.json);
    }
}

async fn wrong_user_and_wrong_password_get_the_same_answer(app: TestApp) {
    app.user("ann").await;
    let wrong_pw =
        app.post("/api/v1/auth/login").json(json!({"username": "ann", "password": "nope nope"})).send().await;
    let no_user =
        app.post("/api/v1/auth/login").json(json!({"username": "zed", "password": "nope nope"})).send().await;
    assert_eq!(wrong_pw.status, 401);
    assert_eq!(wrong_pw.status, no_user.status);
    assert_eq!(wrong_pw.json, no_user.json);
    assert_eq!(wrong_pw.error(), "bad_credentials");
    assert!(wrong_pw.session_cookie().is_none());
}

async fn login_is_rate_limited_per_account(app: TestApp) {
    app.user("ann").await;
    for _ in 0..10 {
        let r = app
            .post("/api/v1/auth/login")
            .json(json!({"username": "ann", "password": "wrong pass"}))
            .send()
            .await;
        assert_eq!(r.status, 401);
    }
    let blocked =
        app.post("/api/v1/auth/login").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    assert_eq!((blocked.status.as_u16(), blocked.error()), (429, "rate_limited"));
    // Another account from another address is not affected.
    app.user("bob").await;
    let other =
        app.post("/api/v1/auth/login").json(json!({"username": "bob", "password": PASSWORD})).send().await;
    assert_eq!(other.status, 200);
}

async fn session_cookie_is_httponly_lax_and_cycled_at_login(app: TestApp) {
    let signup =
        app.post("/api/v1/auth/signup").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    let header = signup.set_cookie_header();
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    assert!(header.contains("Max-Age") || header.contains("Expires"), "sessions must expire: {header}");
    let first = signup.session_cookie().unwrap();

    let login = app
        .post("/api/v1/auth/login")
        .cookie(&first)
        .same_origin()
        .json(json!({"username": "ann", "password": PASSWORD}))
        .send()
        .await;
    let second = login.session_cookie().expect("login sets a cookie");
    assert_ne!(first, second, "the session id must change at login");
    assert_eq!(app.get("/api/v1/user").cookie(&second).send().await.json["username"], "ann");
    assert_eq!(app.get("/api/v1/user").cookie(&first).send().await.status, 401, "the old id must be dead");
}

async fn forged_expired_and_logged_out_sessions_are_anonymous(app: TestApp) {
    let forged = app.get("/api/v1/user").cookie("myelin_session=AAAAAAAAAAAAAAAAAAAAAA").send().await;
    assert_eq!((forged.status.as_u16(), forged.error()), (401, "unauthenticated"));
    let garbage = app.get("/api/v1/user").cookie("myelin_session=%%%not-base64").send().await;
    assert_eq!(garbage.status, 401);

    let signup =
        app.post("/api/v1/auth/signup").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    let cookie = signup.session_cookie().unwrap();
    let out = app.post("/api/v1/auth/logout").cookie(&cookie).same_origin().send().await;
    assert_eq!(out.status, 204);
    assert_eq!(app.get("/api/v1/user").cookie(&cookie).send().await.status, 401);

    // An expired record in the store is not honoured either.
    let login =
        app.post("/api/v1/auth/login").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    let cookie = login.session_cookie().unwrap();
    use sea_orm::ConnectionTrait;
    let table = match app.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "tower_sessions.session",
        _ => "tower_sessions",
    };
    let past = match app.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "now() - interval '1 day'",
        _ => "0",
    };
    app.db.execute_unprepared(&format!("UPDATE {table} SET expiry_date = {past}")).await.unwrap();
    assert_eq!(app.get("/api/v1/user").cookie(&cookie).send().await.status, 401);
}

async fn cookie_mutations_need_a_same_site_origin(app: TestApp) {
    let signup =
        app.post("/api/v1/auth/signup").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    let cookie = signup.session_cookie().unwrap();
    let body = json!({"name": "csrf-target"});

    let foreign = app
        .post("/api/v1/projects")
        .cookie(&cookie)
        .header("host", app.url.trim_start_matches("http://"))
        .header("origin", "https://evil.example")
        .json(body.clone())
        .send()
        .await;
    assert_eq!((foreign.status.as_u16(), foreign.error()), (403, "csrf_failed"));
    let headerless = app.post("/api/v1/projects").cookie(&cookie).json(body.clone()).send().await;
    assert_eq!(headerless.error(), "csrf_failed");
    let cross_site = app
        .post("/api/v1/projects")
        .cookie(&cookie)
        .header("sec-fetch-site", "cross-site")
        .json(body.clone())
        .send()
        .await;
    assert_eq!(cross_site.error(), "csrf_failed");
    let listed = app.get("/api/v1/projects").cookie(&cookie).send().await;
    assert_eq!(listed.json["total"], 0, "a refused request must change nothing");

    let ok = app.post("/api/v1/projects").cookie(&cookie).same_origin().json(body).send().await;
    assert_eq!(ok.status, 201, "{:?}", ok.json);
}

async fn password_change_checks_the_current_one_and_ends_other_sessions(app: TestApp) {
    let a =
        app.post("/api/v1/auth/signup").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    let b =
        app.post("/api/v1/auth/login").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    let (cookie_a, cookie_b) = (a.session_cookie().unwrap(), b.session_cookie().unwrap());
    let put = |cookie: String, current: &'static str, new: &'static str| {
        app.call(axum::http::Method::PUT, "/api/v1/user/password")
            .cookie(&cookie)
            .same_origin()
            .json(json!({"current_password": current, "new_password": new}))
            .send()
    };
    let wrong = put(cookie_a.clone(), "not it at all", "another long password").await;
    assert_eq!((wrong.status.as_u16(), wrong.error()), (400, "invalid_input"));
    let short = put(cookie_a.clone(), PASSWORD, "short").await;
    assert_eq!(short.json["field"], "password");
    let ok = put(cookie_a.clone(), PASSWORD, "another long password").await;
    assert_eq!(ok.status, 204);
    let cookie_a = ok.session_cookie().unwrap_or(cookie_a);
    assert_eq!(app.get("/api/v1/user").cookie(&cookie_a).send().await.status, 200, "this session stays");
    assert_eq!(app.get("/api/v1/user").cookie(&cookie_b).send().await.status, 401, "other sessions end");
    let old =
        app.post("/api/v1/auth/login").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    assert_eq!(old.status, 401);
}

async fn bad_signup_input_is_refused_with_the_field(app: TestApp) {
    let cases = [
        (json!({"username": "bad name", "password": PASSWORD}), "username"),
        (json!({"username": "x".repeat(65), "password": PASSWORD}), "username"),
        (json!({"username": "api", "password": PASSWORD}), "username"),
        (json!({"username": "ann", "password": "short"}), "password"),
        (json!({"username": "ann", "password": "p".repeat(1025)}), "password"),
    ];
    for (body, field) in cases {
        let r = app.post("/api/v1/auth/signup").json(body.clone()).send().await;
        assert_eq!((r.status.as_u16(), r.error()), (400, "invalid_input"), "{body}");
        assert_eq!(r.json["field"], field, "{body}");
    }
    let missing = app.post("/api/v1/auth/signup").json(json!({"username": "ann"})).send().await;
    assert_eq!((missing.status.as_u16(), missing.error()), (400, "bad_request"));
    assert!(missing.json["message"].as_str().unwrap().contains("password"), "{:?}", missing.json);

    app.post("/api/v1/auth/signup").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    let open = backend::services::settings::SiteSettings { signup_open: true };
    backend::services::settings::set(&app.db, &open).await.unwrap();
    let dup =
        app.post("/api/v1/auth/signup").json(json!({"username": "ANN", "password": PASSWORD})).send().await;
    assert_eq!((dup.status.as_u16(), dup.error()), (409, "conflict"));
}

async fn a_disabled_account_loses_its_sessions_and_tokens_at_once(app: TestApp) {
    let root =
        app.post("/api/v1/auth/signup").json(json!({"username": "root", "password": PASSWORD})).send().await;
    let admin = root.session_cookie().unwrap();
    let ann = app.user("ann").await;
    crate::tracking::project(&app, &ann, "p").await;
    let (run, run_token) = crate::tracking::queued_run(&app, &ann).await;
    let login =
        app.post("/api/v1/auth/login").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    let session = login.session_cookie().unwrap();
    let log = json!({"run_id": run.replace('-', ""), "key": "loss", "value": 0.5, "timestamp": 1, "step": 0});
    let works = |expect: u16| {
        let (session, token, run_token, log) =
            (session.clone(), ann.token.clone(), run_token.clone(), log.clone());
        let app = &app;
        async move {
            assert_eq!(
                app.get("/api/v1/user").cookie(&session).send().await.status.as_u16(),
                expect,
                "session"
            );
            assert_eq!(
                app.get("/api/v1/user").bearer(&token).send().await.status.as_u16(),
                expect,
                "api token"
            );
            let r = app.post("/api/2.0/mlflow/runs/log-metric").bearer(&run_token).json(log).send().await;
            assert_eq!(r.status.as_u16(), if expect == 200 { 200 } else { 401 }, "run token: {}", r.json);
        }
    };
    works(200).await;
    let change = |who: &'static str, disabled: bool| {
        app.call(axum::http::Method::PATCH, &format!("/api/v1/admin/users/{who}"))
            .cookie(&admin)
            .same_origin()
            .json(json!({"disabled": disabled}))
            .send()
    };
    let off = change("ann", true).await;
    assert_eq!((off.status.as_u16(), off.json["disabled"].as_bool()), (200, Some(true)), "{}", off.json);
    works(401).await;
    let again =
        app.post("/api/v1/auth/login").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    assert_eq!((again.status.as_u16(), again.error()), (403, "forbidden"), "{}", again.json);
    assert!(again.json["message"].as_str().unwrap().contains("disabled"));
    let own = change("root", true).await;
    assert_eq!(own.status, 409, "an admin cannot lock themselves out: {}", own.json);
    let listed = app.get("/api/v1/admin/users").cookie(&admin).send().await;
    let ann_row = listed.json.as_array().unwrap().iter().find(|u| u["username"] == "ann").cloned().unwrap();
    assert_eq!(ann_row["disabled"], true);
    assert_eq!(change("ann", false).await.status, 200);
    assert_eq!(app.get("/api/v1/user").bearer(&ann.token).send().await.status, 200, "re-enabled");
}

async fn api_tokens_may_expire(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let ann = app.user("ann").await;
    let made = app
        .post("/api/v1/user/tokens")
        .bearer(&ann.token)
        .json(json!({"name": "ci", "expires_in_days": 30}))
        .send()
        .await;
    assert_eq!(made.status, 201, "{}", made.json);
    assert!(made.json["expires_at"].is_string(), "{}", made.json);
    let token = made.json["token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/user").bearer(&token).send().await.status, 200);
    let past = if app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        "now() - interval '1 hour'"
    } else {
        "'2000-01-01T00:00:00+00:00'"
    };
    app.db
        .execute_unprepared(&format!("UPDATE api_tokens SET expires_at = {past} WHERE name = 'ci'"))
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/user").bearer(&token).send().await.status, 401, "expired");
    assert_eq!(app.get("/api/v1/user").bearer(&ann.token).send().await.status, 200, "others still work");
    for days in [0, 100_000] {
        let r = app
            .post("/api/v1/user/tokens")
            .bearer(&ann.token)
            .json(json!({"name": "x", "expires_in_days": days}))
            .send()
            .await;
        assert_eq!(
            (r.status.as_u16(), r.json["field"].as_str()),
            (400, Some("expires_in_days")),
            "{}",
            r.json
        );
    }
}

async fn the_audit_log_records_who_did_what_from_where(app: TestApp) {
    let root =
        app.post("/api/v1/auth/signup").json(json!({"username": "root", "password": PASSWORD})).send().await;
    let admin = root.session_cookie().unwrap();
    let ann = app.user("ann").await;
    app.user("bob").await;
    let bad = app
        .post("/api/v1/auth/login")
        .json(json!({"username": "ann", "password": "not the password"}))
        .send()
        .await;
    assert_eq!(bad.status, 401);
    let good =
        app.post("/api/v1/auth/login").json(json!({"username": "ann", "password": PASSWORD})).send().await;
    assert_eq!(good.status, 200);
    let t = app.post("/api/v1/user/tokens").bearer(&ann.token).json(json!({"name": "laptop"})).send().await;
    let id = t.json["id"].as_str().unwrap();
    app.call(axum::http::Method::DELETE, &format!("/api/v1/user/tokens/{id}"))
        .bearer(&ann.token)
        .send()
        .await;
    app.post("/api/v1/projects").bearer(&ann.token).json(json!({"name": "p"})).send().await;
    let add = app
        .post("/api/v1/projects/ann/p/members")
        .bearer(&ann.token)
        .json(json!({"username": "bob", "role": "viewer"}))
        .send()
        .await;
    assert_eq!(add.status, 201, "{}", add.json);
    app.call(axum::http::Method::PATCH, "/api/v1/projects/ann/p/members/bob")
        .bearer(&ann.token)
        .json(json!({"role": "member"}))
        .send()
        .await;
    app.call(axum::http::Method::PATCH, "/api/v1/admin/users/bob")
        .cookie(&admin)
        .same_origin()
        .json(json!({"disabled": true}))
        .send()
        .await;
    let log = app.get("/api/v1/admin/audit?limit=50").cookie(&admin).send().await;
    assert_eq!(log.status, 200, "{}", log.json);
    let events: Vec<(String, String, String)> = log
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["target"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("ann", "auth.login_failed", "ann"),
        ("ann", "auth.login", "ann"),
        ("ann", "token.create", "ann"),
        ("ann", "token.revoke", "ann"),
        ("ann", "member.add", "ann/p"),
        ("ann", "member.role", "ann/p"),
        ("root", "user.disable", "bob"),
    ] {
        let want = (want.0.to_string(), want.1.to_string(), want.2.to_string());
        assert!(events.contains(&want), "{want:?} missing from {events:?}");
    }
    assert_eq!(events[0].1, "user.disable", "newest first");
    let role = log.json.as_array().unwrap().iter().find(|e| e["action"] == "member.role").unwrap();
    assert_eq!(role["detail"], json!({"user": "bob", "from": "viewer", "to": "member"}));
    let failed = log.json.as_array().unwrap().iter().find(|e| e["action"] == "auth.login_failed").unwrap();
    assert_eq!(failed["ip"], "127.0.0.1", "where the attempt came from");
    let only = app.get("/api/v1/admin/audit?action=auth.login").cookie(&admin).send().await;
    assert!(only.json.as_array().unwrap().iter().all(|e| e["action"] == "auth.login"), "{}", only.json);
    let denied = app.get("/api/v1/admin/audit").bearer(&ann.token).send().await;
    assert_eq!(denied.status, 403);
}
