//! Projects and members: validation, conflicts, search and sort, rename, deletion, roles, privacy.

use axum::http::Method;
use serde_json::json;

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};

both_dbs!(
    names_are_validated_and_unique_per_owner,
    malformed_bodies_get_clear_errors_and_change_nothing,
    listing_searches_sorts_and_pages,
    rename_and_delete_need_the_right_role_and_confirmation,
    members_roles_and_the_last_owner,
    non_members_and_anonymous_see_nothing,
);

async fn create(app: &TestApp, u: &TestUser, name: &str) -> serde_json::Value {
    let r = app
        .post("/api/v1/projects")
        .bearer(&u.token)
        .json(json!({"name": name, "description": "d"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    r.json
}

async fn names_are_validated_and_unique_per_owner(app: TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    for bad in ["", "Upper", "-dash", "has space", "dot.name", &"x".repeat(65)] {
        let r = app.post("/api/v1/projects").bearer(&ann.token).json(json!({"name": bad})).send().await;
        assert_eq!((r.status.as_u16(), r.error()), (400, "invalid_input"), "{bad:?}");
        assert_eq!(r.json["field"], "name");
        assert!(r.json["message"].as_str().unwrap().starts_with("project name:"), "{:?}", r.json);
    }
    let long = app
        .post("/api/v1/projects")
        .bearer(&ann.token)
        .json(json!({"name": "ok", "description": "d".repeat(2001)}))
        .send()
        .await;
    assert_eq!(long.json["field"], "description");

    let p = create(&app, &ann, "mnist").await;
    assert_eq!((p["owner"].as_str(), p["role"].as_str()), (Some("ann"), Some("owner")));
    let dup = app.post("/api/v1/projects").bearer(&ann.token).json(json!({"name": "mnist"})).send().await;
    assert_eq!((dup.status.as_u16(), dup.error()), (409, "conflict"));
    create(&app, &bob, "mnist").await; // unique per owner, not globally
    let list = app.get("/api/v1/projects").bearer(&ann.token).send().await;
    assert_eq!(list.json["total"], 1);
}

async fn malformed_bodies_get_clear_errors_and_change_nothing(app: TestApp) {
    let ann = app.user("ann").await;
    let syntax =
        app.post("/api/v1/projects").bearer(&ann.token).raw("application/json", "{\"name\": ").send().await;
    assert_eq!((syntax.status.as_u16(), syntax.error()), (400, "bad_request"));
    assert!(syntax.json["message"].as_str().unwrap().contains("malformed JSON"));
    let types = app.post("/api/v1/projects").bearer(&ann.token).json(json!({"name": 5})).send().await;
    assert_eq!((types.status.as_u16(), types.error()), (400, "bad_request"));
    let ctype = app.post("/api/v1/projects").bearer(&ann.token).raw("text/plain", "name=x").send().await;
    assert_eq!((ctype.status.as_u16(), ctype.error()), (415, "unsupported_media_type"));
    let huge = format!("{{\"name\": \"big\", \"description\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let big = app.post("/api/v1/projects").bearer(&ann.token).raw("application/json", huge).send().await;
    assert_eq!((big.status.as_u16(), big.error()), (413, "payload_too_large"));
    let bad_uuid = app.call(Method::DELETE, "/api/v1/user/tokens/not-a-uuid").bearer(&ann.token).send().await;
    assert_eq!((bad_uuid.status.as_u16(), bad_uuid.error()), (400, "bad_request"));
    let bad_query = app.get("/api/v1/projects?limit=many").bearer(&ann.token).send().await;
    assert_eq!((bad_query.status.as_u16(), bad_query.error()), (400, "bad_request"));
    let unknown = app.get("/api/v1/nothing-here").send().await;
    assert_eq!((unknown.status.as_u16(), unknown.error()), (404, "not_found"));
    assert_eq!(app.get("/api/v1/projects").bearer(&ann.token).send().await.json["total"], 0);
}

async fn listing_searches_sorts_and_pages(app: TestApp) {
    let ann = app.user("ann").await;
    for name in ["charlie", "alpha", "bravo"] {
        create(&app, &ann, name).await;
    }
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
    };
    let by_name = app.get("/api/v1/projects?sort=name").bearer(&ann.token).send().await;
    assert_eq!(names(&by_name.json), ["alpha", "bravo", "charlie"]);
    let newest = app.get("/api/v1/projects?sort=created").bearer(&ann.token).send().await;
    assert_eq!(names(&newest.json), ["bravo", "alpha", "charlie"]);
    let found = app.get("/api/v1/projects?q=RAV").bearer(&ann.token).send().await;
    assert_eq!(names(&found.json), ["bravo"]);
    let paged = app.get("/api/v1/projects?sort=name&limit=2&offset=2").bearer(&ann.token).send().await;
    assert_eq!((names(&paged.json), paged.json["total"].as_u64()), (vec!["charlie".to_string()], Some(3)));
    create(&app, &ann, "x_ray").await;
    let literal = app.get("/api/v1/projects?q=_").bearer(&ann.token).send().await;
    assert_eq!(names(&literal.json), ["x_ray"], "LIKE wildcards in the query are matched literally");
    let percent = app.get("/api/v1/projects?q=%25").bearer(&ann.token).send().await;
    assert_eq!(percent.json["total"], 0);
}

async fn rename_and_delete_need_the_right_role_and_confirmation(app: TestApp) {
    let ann = app.user("ann").await;
    create(&app, &ann, "old").await;
    create(&app, &ann, "taken").await;
    let patch = |path: &str, body| app.call(Method::PATCH, path).bearer(&ann.token).json(body).send();
    let clash = patch("/api/v1/projects/ann/old", json!({"name": "taken"})).await;
    assert_eq!(clash.status, 409);
    let renamed = patch("/api/v1/projects/ann/old", json!({"name": "new", "description": "fresh"})).await;
    assert_eq!(
        (renamed.json["name"].as_str(), renamed.json["description"].as_str()),
        (Some("new"), Some("fresh"))
    );
    assert_eq!(app.get("/api/v1/projects/ann/old").bearer(&ann.token).send().await.status, 404);

    let unconfirmed =
        app.call(Method::DELETE, "/api/v1/projects/ann/new?confirm=nope").bearer(&ann.token).send().await;
    assert_eq!((unconfirmed.status.as_u16(), unconfirmed.json["field"].as_str()), (400, Some("confirm")));
    let missing = app.call(Method::DELETE, "/api/v1/projects/ann/new").bearer(&ann.token).send().await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        app.get("/api/v1/projects/ann/new").bearer(&ann.token).send().await.status,
        200,
        "still there"
    );
    let deleted =
        app.call(Method::DELETE, "/api/v1/projects/ann/new?confirm=new").bearer(&ann.token).send().await;
    assert_eq!(deleted.status, 204);
    assert_eq!(app.get("/api/v1/projects/ann/new").bearer(&ann.token).send().await.status, 404);
}

async fn members_roles_and_the_last_owner(app: TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cid = app.user("cid").await;
    create(&app, &ann, "p").await;
    let members = "/api/v1/projects/ann/p/members";
    let add = |who: &TestUser, username: &str, role: &str| {
        app.post(members).bearer(&who.token).json(json!({"username": username, "role": role})).send()
    };
    assert_eq!(add(&ann, "bob", "admin").await.status, 201);
    assert_eq!(add(&ann, "bob", "viewer").await.status, 409, "already a member");
    assert_eq!(add(&ann, "nobody", "viewer").await.status, 404);
    assert_eq!(add(&ann, "cid", "king").await.status, 400);
    // An admin manages members but cannot hand out ownership.
    assert_eq!(add(&bob, "cid", "owner").await.status, 403);
    assert_eq!(add(&bob, "cid", "member").await.status, 201);
    let demote_owner = app
        .call(Method::PATCH, &format!("{members}/ann"))
        .bearer(&bob.token)
        .json(json!({"role": "viewer"}))
        .send()
        .await;
    assert_eq!(demote_owner.status, 403);

    // The only owner can neither leave nor be demoted.
    let leave = app.call(Method::DELETE, &format!("{members}/ann")).bearer(&ann.token).send().await;
    assert_eq!((leave.status.as_u16(), leave.error()), (409, "conflict"));
    let demote = app
        .call(Method::PATCH, &format!("{members}/ann"))
        .bearer(&ann.token)
        .json(json!({"role": "admin"}))
        .send()
        .await;
    assert_eq!(demote.status, 409);
    // With a second owner, the first may go.
    let promote = app
        .call(Method::PATCH, &format!("{members}/bob"))
        .bearer(&ann.token)
        .json(json!({"role": "owner"}))
        .send()
        .await;
    assert_eq!(promote.json["role"], "owner");
    let leave = app.call(Method::DELETE, &format!("{members}/ann")).bearer(&ann.token).send().await;
    assert_eq!(leave.status, 204);
    assert_eq!(app.get("/api/v1/projects/ann/p").bearer(&ann.token).send().await.status, 404);

    // Anyone may leave; a member may not remove others.
    let kick = app.call(Method::DELETE, &format!("{members}/bob")).bearer(&cid.token).send().await;
    assert_eq!(kick.status, 403);
    let quit = app.call(Method::DELETE, &format!("{members}/cid")).bearer(&cid.token).send().await;
    assert_eq!(quit.status, 204);
    let list = app.get(members).bearer(&bob.token).send().await;
    assert_eq!(list.json.as_array().unwrap().len(), 1);
}

async fn non_members_and_anonymous_see_nothing(app: TestApp) {
    let ann = app.user("ann").await;
    let eve = app.user("eve").await;
    create(&app, &ann, "secret").await;
    let existing = app.get("/api/v1/projects/ann/secret").bearer(&eve.token).send().await;
    let missing = app.get("/api/v1/projects/ann/nothing").bearer(&eve.token).send().await;
    assert_eq!(existing.status, 404);
    assert_eq!(existing.json, missing.json, "an existing private project looks exactly like a missing one");
    assert_eq!(app.get("/api/v1/projects/ann/secret").send().await.json, missing.json);
    let listed = app.get("/api/v1/projects").bearer(&eve.token).send().await;
    assert_eq!(listed.json["total"], 0);
}
