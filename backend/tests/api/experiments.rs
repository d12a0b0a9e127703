//! MLflow experiment tags at the REST level: bounds (key syntax, value length), deleting a missing tag, the note
//! as the project's description, and searches by tag that page.

use serde_json::{json, Value};

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::tracking::project;

both_dbs!(experiment_tags_are_bounded_searched_and_paged);

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
