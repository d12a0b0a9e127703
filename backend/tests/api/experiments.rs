//! MLflow experiment tags at the REST level: bounds (key syntax, value length), deleting a missing tag, the note
//! as the project's description, and searches by tag that page.

use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::tracking::project;

both_dbs!(
    experiment_tags_are_bounded_searched_and_paged,
    experiment_search_pages_by_keyset_through_filters,
    the_links_mlflow_prints_open_the_run_page_for_members_only
);

async fn experiment_tags_are_bounded_searched_and_paged(app: TestApp) {
    let ann = app.user("ann").await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let p = project(&app, &ann, name).await;
        ids.push(p["id"].as_str().unwrap().replace('-', ""));
    }
    let set = |id: &str, key: &str, value: &str| {
        app.post("/api/2.0/mlflow/experiments/set-experiment-tag")
            .bearer(&ann.token)
            .json(json!({"experiment_id": id, "key": key, "value": value}))
            .send()
    };
    for id in &ids[..2] {
        assert_eq!(set(id, "team", "vision").await.status, 200);
    }
    assert_eq!(set(&ids[2], "team", "nlp").await.status, 200);
    let bad = set(&ids[0], "../x", "v").await;
    assert_eq!(
        (bad.status.as_u16(), bad.json["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE")),
        "{}",
        bad.json
    );
    let long = set(&ids[0], "big", &"x".repeat(5001)).await;
    assert_eq!(long.status, 400, "{}", long.json);
    let missing = app
        .post("/api/2.0/mlflow/experiments/delete-experiment-tag")
        .bearer(&ann.token)
        .json(json!({"experiment_id": ids[0], "key": "nope"}))
        .send()
        .await;
    assert_eq!(
        (missing.status.as_u16(), missing.json["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );

    // The note is the project's description.
    assert_eq!(set(&ids[0], "mlflow.note.content", "digits").await.status, 200);
    let p: Value = app.get("/api/v1/projects/ann/a").bearer(&ann.token).send().await.json;
    assert_eq!(p["description"], "digits", "{p}");

    // By tag, a page at a time.
    let search = |token: Option<&str>| {
        let mut body = json!({"filter": "tags.team = 'vision'", "max_results": 1});
        if let Some(t) = token {
            body["page_token"] = json!(t);
        }
        app.post("/api/2.0/mlflow/experiments/search").bearer(&ann.token).json(body).send()
    };
    let first = search(None).await.json;
    assert_eq!(first["experiments"].as_array().unwrap().len(), 1, "{first}");
    let next = first["next_page_token"].as_str().expect("a second page").to_string();
    let second = search(Some(&next)).await.json;
    assert!(second.get("next_page_token").is_none(), "{second}");
    let mut names: Vec<&str> =
        [&first, &second].iter().map(|p| p["experiments"][0]["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["ann/a", "ann/b"]);
    let tags = &first["experiments"][0]["tags"];
    assert!(tags.as_array().unwrap().iter().any(|t| t["key"] == "team" && t["value"] == "vision"), "{tags}");
}

async fn the_links_mlflow_prints_open_the_run_page_for_members_only(app: TestApp) {
    let ann = app.user("ann").await;
    let p = project(&app, &ann, "p").await;
    let e = p["id"].as_str().unwrap().replace('-', "");
    let (run, _) = crate::tracking::queued_run(&app, &ann).await;
    let r = run.replace('-', "");
    let login = |who: &str| {
        let app = &app;
        let who = who.to_string();
        async move {
            let s = app
                .post("/api/v1/auth/login")
                .json(json!({"username": who, "password": crate::helpers::PASSWORD}))
                .send()
                .await;
            assert_eq!(s.status, 200, "{}", s.json);
            s.session_cookie().unwrap()
        }
    };
    let go = |path: String, cookie: Option<String>| {
        let app = &app;
        async move {
            let mut req = app.get(&path);
            if let Some(c) = cookie {
                req = req.cookie(&c);
            }
            let resp = req.send().await;
            let to = resp.headers.get("location").map(|l| l.to_str().unwrap().to_string());
            (resp.status.as_u16(), to)
        }
    };
    let ann_cookie = login("ann").await;
    // What MLflow prints: `{uri}/#/experiments/{e}/runs/{r}`; the page's shell sends the fragment to `/go/…`.
    assert_eq!(
        go(format!("/go/experiments/{e}/runs/{r}"), Some(ann_cookie.clone())).await,
        (303, Some(format!("/ann/p/runs/{run}")))
    );
    assert_eq!(
        go(format!("/go/experiments/{e}"), Some(ann_cookie.clone())).await,
        (303, Some("/ann/p/runs".into()))
    );
    // Signed out: the login page, which comes back here.
    assert_eq!(
        go(format!("/go/experiments/{e}/runs/{r}"), None).await,
        (303, Some(format!("/login?next=%2Fgo%2Fexperiments%2F{e}%2Fruns%2F{r}")))
    );
    // Someone else's project, a run of another project, nonsense: not found, alike.
    app.user("bob").await;
    let bob_cookie = login("bob").await;
    assert_eq!(go(format!("/go/experiments/{e}/runs/{r}"), Some(bob_cookie.clone())).await.0, 404);
    assert_eq!(go(format!("/go/experiments/{e}"), Some(bob_cookie)).await.0, 404);
    let other = project(&app, &ann, "q").await["id"].as_str().unwrap().replace('-', "");
    assert_eq!(go(format!("/go/experiments/{other}/runs/{r}"), Some(ann_cookie.clone())).await.0, 404);
    assert_eq!(go("/go/experiments/zzz/runs/1".into(), Some(ann_cookie)).await.0, 404);
}

/// Every page of a search, following `next_page_token`: the names in order.
async fn all_pages(
    app: &TestApp,
    token: &str,
    filter: &str,
    per_page: usize,
    view: &str,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut body = json!({"filter": filter, "max_results": per_page, "view_type": view});
        if let Some(t) = &next {
            body["page_token"] = json!(t);
        }
        let r = app.post("/api/2.0/mlflow/experiments/search").bearer(token).json(body).send().await;
        assert_eq!(r.status, 200, "{}", r.json);
        let names = r.json["experiments"].as_array().unwrap().iter();
        pages.push(names.map(|e| e["name"].as_str().unwrap().to_string()).collect());
        match r.json["next_page_token"].as_str() {
            Some(t) => next = Some(t.to_string()),
            None => return pages,
        }
        assert!(pages.len() < 100, "paging does not end");
    }
}

async fn experiment_search_pages_by_keyset_through_filters(app: TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    project(&app, &bob, "p05").await;
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(project(&app, &ann, &format!("p{i:02}")).await["id"].as_str().unwrap().replace('-', ""));
    }
    let names =
        |r: std::ops::Range<usize>| -> Vec<String> { r.rev().map(|i| format!("ann/p{i:02}")).collect() };
    // Newest first, five a page, every project once (ties in creation time are ordered by id).
    let pages = all_pages(&app, &ann.token, "", 5, "ACTIVE_ONLY").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 5, 5, 3]);
    assert_eq!(pages.concat(), names(0..23));
    // Filters answered in SQL, then exactly here (SQLite's LIKE ignores case; MLflow's does not).
    assert_eq!(
        all_pages(&app, &ann.token, "name LIKE 'ann/p1%'", 3, "ACTIVE_ONLY").await.concat(),
        names(10..20)
    );
    assert_eq!(all_pages(&app, &ann.token, "name = 'ann/p07'", 3, "ACTIVE_ONLY").await.concat(), ["ann/p07"]);
    assert!(all_pages(&app, &ann.token, "name LIKE 'ANN/%'", 3, "ACTIVE_ONLY").await.concat().is_empty());
    assert_eq!(
        all_pages(&app, &ann.token, "name ILIKE 'ANN/P2%'", 2, "ACTIVE_ONLY").await.concat(),
        names(20..23)
    );
    assert!(all_pages(&app, &ann.token, "name LIKE 'bob/%'", 3, "ACTIVE_ONLY").await.concat().is_empty());
    assert_eq!(all_pages(&app, &bob.token, "name LIKE '%p05'", 3, "ACTIVE_ONLY").await.concat(), ["bob/p05"]);
    // A clause only checked here (a tag), with a selective name: paging still finds every match.
    for id in [&ids[3], &ids[17], &ids[21]] {
        let r = app
            .post("/api/2.0/mlflow/experiments/set-experiment-tag")
            .bearer(&ann.token)
            .json(json!({"experiment_id": id, "key": "team", "value": "x"}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let tagged = all_pages(&app, &ann.token, "tags.team = 'x' AND name != 'ann/p17'", 1, "ACTIVE_ONLY").await;
    assert_eq!(tagged.concat(), ["ann/p21", "ann/p03"]);
    // Deleted experiments by view type.
    let d = app
        .post("/api/2.0/mlflow/experiments/delete")
        .bearer(&ann.token)
        .json(json!({"experiment_id": ids[4]}))
        .send()
        .await;
    assert_eq!(d.status, 200, "{}", d.json);
    assert_eq!(all_pages(&app, &ann.token, "", 100, "DELETED_ONLY").await.concat(), ["ann/p04"]);
    assert_eq!(all_pages(&app, &ann.token, "", 100, "ACTIVE_ONLY").await.concat().len(), 22);
    assert_eq!(all_pages(&app, &ann.token, "", 7, "ALL").await.concat(), names(0..23));
    // A token this server did not give.
    let bad = app
        .post("/api/2.0/mlflow/experiments/search")
        .bearer(&ann.token)
        .json(json!({"page_token": "12"}))
        .send()
        .await;
    assert_eq!(bad.status, 400, "{}", bad.json);
}
