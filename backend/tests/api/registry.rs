//! The model registry through MLflow's API: the real `mlflow` client end to end (log, register, alias, search,
//! load by alias and predict), and the rules a stock client cannot see: protected aliases, project scope.

use serde_json::json;

use crate::both_dbs;
use crate::helpers::TestApp;
use crate::tracking::{project, python};

both_dbs!(the_mlflow_client_registers_aliases_and_loads_a_model, models_stay_inside_their_projects,);

async fn the_mlflow_client_registers_aliases_and_loads_a_model(app: TestApp) {
    let ann = app.user("ann").await;
    python("registry.py", &app.url, &ann.token, "ann").await;
}

async fn models_stay_inside_their_projects(app: TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    project(&app, &ann, "p").await;
    let api = |path: &str| format!("/api/2.0/mlflow/{path}");
    // ann's model; bob, outside her projects, neither sees it nor finds it, and his own "clf" is another model.
    let r = app
        .post(&api("registered-models/create"))
        .bearer(&ann.token)
        .json(json!({"name": "clf"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = app.get(&api("registered-models/get?name=clf")).bearer(&bob.token).send().await;
    assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (404, Some("RESOURCE_DOES_NOT_EXIST")));
    let r = app.get(&api("registered-models/search")).bearer(&bob.token).send().await;
    assert_eq!(r.json["registered_models"].as_array().map(Vec::len), Some(0), "{}", r.json);
    let r = app
        .post(&api("registered-models/create"))
        .bearer(&bob.token)
        .json(json!({"name": "clf"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // Registering a version of bob's model from ann's run: for him the run does not exist.
    let exp = app.get(&api("experiments/get-by-name?experiment_name=ann/p")).bearer(&ann.token).send().await;
    let exp = exp.json["experiment"]["experiment_id"].as_str().unwrap().to_string();
    let run =
        app.post(&api("runs/create")).bearer(&ann.token).json(json!({"experiment_id": exp})).send().await;
    let run = run.json["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let source = format!("runs:/{run}/model");
    let v = json!({"name": "clf", "source": source, "run_id": run});
    let r = app.post(&api("model-versions/create")).bearer(&bob.token).json(v.clone()).send().await;
    assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (404, Some("RESOURCE_DOES_NOT_EXIST")));
    // ann's first version moves her model beside its run, in project p; its files are that run's artifacts.
    let r = app.post(&api("model-versions/create")).bearer(&ann.token).json(v).send().await;
    assert_eq!(
        (r.status.as_u16(), r.json["model_version"]["version"].as_str()),
        (200, Some("1")),
        "{}",
        r.json
    );
    let uri =
        app.get(&api("model-versions/get-download-uri?name=clf&version=1")).bearer(&ann.token).send().await;
    assert_eq!(uri.json["artifact_uri"], json!(format!("mlflow-artifacts:/{exp}/{run}/artifacts/model")));
    // A run token of project p reads the model; of its writes, a protected alias is refused like everyone's.
    let token = backend::store::tokens::issue(&app.db, uuid::Uuid::parse_str(&run).unwrap()).await.unwrap();
    let r = app.get(&api("registered-models/get?name=clf")).bearer(&token).send().await;
    assert_eq!(r.status, 200, "{}", r.json);
    for who in [&ann.token, &token] {
        let set = json!({"name": "clf", "alias": "production", "version": "1"});
        let r = app.post(&api("registered-models/alias")).bearer(who).json(set).send().await;
        assert_eq!((r.status.as_u16(), r.json["error_code"].as_str()), (403, Some("PERMISSION_DENIED")));
        assert!(r.json["message"].as_str().unwrap().contains("approved promotion request"), "{}", r.json);
    }
    // MLflow's limits and mistakes come back in its shape.
    let long = "x".repeat(300);
    let r = app
        .post(&api("registered-models/create"))
        .bearer(&ann.token)
        .json(json!({"name": long}))
        .send()
        .await;
    assert_eq!(r.json["error_code"], "INVALID_PARAMETER_VALUE", "{}", r.json);
    let r = app
        .get(&api("model-versions/search?filter=name%20%3D%3D%20%27clf%27"))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(r.json["error_code"], "INVALID_PARAMETER_VALUE", "{}", r.json);
    let r = app.get(&api("model-versions/search?max_results=20000")).bearer(&ann.token).send().await;
    assert_eq!(r.json["error_code"], "INVALID_PARAMETER_VALUE", "{}", r.json);
    let r = app.get(&api("model-versions/get?name=clf&version=x")).bearer(&ann.token).send().await;
    assert_eq!(r.json["error_code"], "INVALID_PARAMETER_VALUE", "{}", r.json);
}
