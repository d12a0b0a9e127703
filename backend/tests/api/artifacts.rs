//! Artifacts through the REST API: uploads indexed with their digest, search and paging, directories, previews,
//! downloads with ranges and conditions, folders as zips, the sandbox of inline files, traversal, quota and who
//! may do what; on both databases, and on a real S3-compatible store.

use axum::http::{header, Method};
use serde_json::json;
use sha2::Digest;

use crate::both_dbs;
use crate::helpers::{TestApp, TestUser};
use crate::tracking::{hex, project, queued_run};

const MLMODEL: &str = "artifact_path: model\nflavors:\n  sklearn:\n    sklearn_version: 1.5.0\nrun_id: x\n\
signature:\n  inputs: '[{\"type\": \"double\", \"name\": \"x\"}]'\n  outputs: '[{\"type\": \"long\"}]'\n";

fn files() -> Vec<(&'static str, Vec<u8>)> {
    let mut csv = b"epoch,loss\n".to_vec();
    for i in 0..300 {
        csv.extend(format!("{i},{}\n", 1.0 / (i + 1) as f64).as_bytes());
    }
    vec![
        ("artifacts/data/metrics.csv", csv),
        ("artifacts/model/MLmodel", MLMODEL.as_bytes().to_vec()),
        ("artifacts/model/model.pkl", vec![0u8, 1, 2, 3, 4, 5, 6, 7]),
        ("artifacts/report.html", b"<html><script>parent.document.title='owned'</script></html>".to_vec()),
        ("artifacts/card.md", b"# Model card\n<img src=x onerror=alert(1)>\n".to_vec()),
        (
            "artifacts/plot.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
        ),
    ]
}

/// A Parquet file: `rows` rows of (epoch INT32, score DOUBLE), gzip-compressed, in row groups of 64.
pub(crate) fn parquet_file(rows: i32) -> Vec<u8> {
    use parquet::data_type::{DoubleType, Int32Type};
    let schema = parquet::schema::parser::parse_message_type(
        "message scores { required int32 epoch; optional double score; }",
    )
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::GZIP(Default::default()))
        .build();
    let mut out = Vec::new();
    let mut w = parquet::file::writer::SerializedFileWriter::new(
        &mut out,
        std::sync::Arc::new(schema),
        std::sync::Arc::new(props),
    )
    .unwrap();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(64) {
        let scores: Vec<f64> = chunk.iter().map(|e| f64::from(*e) / 4.0).collect();
        let mut g = w.next_row_group().unwrap();
        let mut c = g.next_column().unwrap().unwrap();
        c.typed::<Int32Type>().write_batch(chunk, None, None).unwrap();
        c.close().unwrap();
        let mut c = g.next_column().unwrap().unwrap();
        c.typed::<DoubleType>().write_batch(&scores, Some(&vec![1; chunk.len()]), None).unwrap();
        c.close().unwrap();
        g.close().unwrap();
    }
    w.close().unwrap();
    out
}

/// The preview of a Parquet file of 300 rows uploaded to the run: its schema, first rows and row count.
async fn parquet_previews(app: &TestApp, ann: &TestUser, run: &str) {
    let up = put(app, ann, run, "artifacts/data/scores.parquet", parquet_file(300)).await;
    assert_eq!((up.status.as_u16(), up.json["kind"].as_str()), (201, Some("table")), "{}", up.json);
    let p = app
        .get(&format!("{}/preview/artifacts/data/scores.parquet", base(run)))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(p.status, 200, "{}", p.json);
    let t = &p.json["preview"];
    assert_eq!(t["type"], "table", "{}", p.json);
    assert_eq!(t["header"], json!(["epoch: INT32", "score: DOUBLE"]));
    assert_eq!(t["rows"].as_array().unwrap().len(), 64, "the first row group's rows");
    assert_eq!(t["rows"][2], json!(["2", "0.5"]));
    assert_eq!(t["truncated"], true);
    assert_eq!(t["note"], "Parquet: 300 rows in 5 row groups");
    // Not Parquet inside: said plainly.
    put(app, ann, run, "artifacts/fake.parquet", b"a,b\n1,2\n".to_vec()).await;
    let p = app.get(&format!("{}/preview/artifacts/fake.parquet", base(run))).bearer(&ann.token).send().await;
    assert_eq!(p.json["preview"], json!({"type": "download", "reason": "not a Parquet file"}));
}

/// A PDF shown inline is a viewer page holding the file, sandboxed like the rest, whose one script is pdf.js by
/// a nonce that is new each time (the page is never cached).
async fn pdf_is_shown_by_a_sandboxed_viewer(app: &TestApp, ann: &TestUser, run: &str) {
    let bytes = b"%PDF-1.4\n% not much of a paper\n\x00\xff".to_vec();
    assert_eq!(put(app, ann, run, "artifacts/paper.pdf", bytes.clone()).await.status, 201);
    let preview =
        app.get(&format!("{}/preview/artifacts/paper.pdf", base(run))).bearer(&ann.token).send().await;
    assert_eq!(preview.json["preview"]["type"], "frame", "{}", preview.json);
    let src = preview.json["preview"]["src"].as_str().unwrap().to_string();
    let page = app.get(&src).bearer(&ann.token).send().await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert!(csp.starts_with("sandbox allow-scripts;") && !csp.contains("allow-same-origin"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).unwrap();
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains(&format!("<script nonce=\"{nonce}\" src=\"/pkg/pdfview.js\">")), "{html}");
    use base64::Engine;
    assert!(
        html.contains(&base64::engine::general_purpose::STANDARD.encode(&bytes)),
        "the file is in the page"
    );
    let again = app.get(&src).bearer(&ann.token).send().await;
    let csp2 = again.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert_ne!(csp2, csp, "a new nonce each time");
    // Downloaded, it is the file itself.
    let dl = app.get(&format!("{}/artifacts/artifacts/paper.pdf", base(run))).bearer(&ann.token).send().await;
    assert_eq!(dl.body, bytes);
}

pub(crate) async fn put(
    app: &TestApp,
    u: &TestUser,
    run: &str,
    path: &str,
    body: Vec<u8>,
) -> crate::helpers::Resp {
    app.call(Method::PUT, &format!("/api/v1/projects/ann/p/runs/{run}/artifacts/{path}"))
        .bearer(&u.token)
        .raw("application/octet-stream", body)
        .send()
        .await
}

pub(crate) fn base(run: &str) -> String {
    format!("/api/v1/projects/ann/p/runs/{run}")
}

/// Uploads `files()` to a fresh run of ann/p; the run's uuid.
async fn seeded(app: &TestApp, ann: &TestUser) -> String {
    let (run, _) = queued_run(app, ann).await;
    for (path, body) in files() {
        let r = put(app, ann, &run, path, body.clone()).await;
        assert_eq!(r.status, 201, "{path}: {}", r.json);
        assert_eq!(r.json["sha256"], hex::encode(sha2::Sha256::digest(&body)), "{path}");
        assert_eq!(r.json["size"], body.len());
        assert_eq!(r.json["run"], run.as_str());
    }
    run
}

async fn indexed_searched_browsed_and_previewed(app: TestApp) {
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let run = seeded(&app, &ann).await;
    // Also what MLflow's client uploads is indexed.
    let exp = {
        let p = app.get("/api/v1/projects/ann/p").bearer(&ann.token).send().await;
        hex(p.json["id"].as_str().unwrap())
    };
    let r = app
        .call(
            Method::PUT,
            &format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{}/artifacts/logged.txt", hex(&run)),
        )
        .bearer(&ann.token)
        .raw("application/octet-stream", "from mlflow")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.json);

    // Search: by name (any case), by kind, by run; pages that add up.
    let search =
        |q: &str| app.get(&format!("/api/v1/projects/ann/p/artifacts?{q}")).bearer(&ann.token).send();
    let got = search("q=METRICS").await;
    assert_eq!(got.status, 200, "{}", got.json);
    let names: Vec<&str> =
        got.json["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["metrics.csv"]);
    assert_eq!(got.json["items"][0]["run_name"].as_str().map(|s| !s.is_empty()), Some(true));
    let got = search("kind=mlmodel").await;
    assert_eq!(got.json["items"].as_array().unwrap().len(), 1, "{}", got.json);
    assert_eq!(search("q=%25").await.json["items"], json!([]), "a % in the query is literal");
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = match &after {
            Some(a) => format!("limit=2&after={}", urlencode(a)),
            None => "limit=2".to_string(),
        };
        let page = search(&q).await;
        assert_eq!(page.status, 200, "{}", page.json);
        for i in page.json["items"].as_array().unwrap() {
            seen.push(i["path"].as_str().unwrap().to_string());
        }
        match page.json["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    seen.sort();
    let mut want: Vec<String> = files().iter().map(|f| f.0.to_string()).collect();
    want.push("artifacts/logged.txt".into());
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(search("after=nonsense").await.status, 400);

    // Directories: subdirectories, files by name, the model's card.
    let dir = app.get(&format!("{}/artifact-dir?path=artifacts", base(&run))).bearer(&ann.token).send().await;
    assert_eq!(dir.status, 200, "{}", dir.json);
    assert_eq!(dir.json["dirs"], json!(["artifacts/data", "artifacts/model"]));
    let names: Vec<&str> =
        dir.json["files"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["card.md", "logged.txt", "plot.svg", "report.html"]);
    let root = app.get(&format!("{}/artifact-dir", base(&run))).bearer(&ann.token).send().await;
    assert_eq!(root.json["dirs"], json!(["artifacts"]));
    let model =
        app.get(&format!("{}/artifact-dir?path=artifacts/model", base(&run))).bearer(&ann.token).send().await;
    assert_eq!(model.json["model"]["flavors"], json!(["sklearn 1.5.0"]), "{}", model.json);
    assert_eq!(model.json["model"]["inputs"], json!(["x: double"]));
    let paged = app
        .get(&format!("{}/artifact-dir?path=artifacts&limit=3", base(&run)))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(paged.json["next"], "plot.svg");
    let rest = app
        .get(&format!("{}/artifact-dir?path=artifacts&limit=3&after=plot.svg", base(&run)))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(rest.json["files"][0]["name"], "report.html");
    assert_eq!(rest.json["dirs"], json!([]));

    // Previews.
    let preview = |p: &str| app.get(&format!("{}/preview/{p}", base(&run))).bearer(&ann.token).send();
    let csv = preview("artifacts/data/metrics.csv").await;
    assert_eq!(csv.status, 200, "{}", csv.json);
    assert_eq!(csv.json["preview"]["type"], "table");
    assert_eq!(csv.json["preview"]["header"], json!(["epoch", "loss"]));
    assert_eq!(csv.json["preview"]["rows"].as_array().unwrap().len(), 100);
    assert_eq!(csv.json["preview"]["truncated"], true);
    assert_eq!(csv.json["info"]["kind"], "table");
    let html = preview("artifacts/report.html").await;
    assert_eq!(html.json["preview"]["type"], "frame");
    let src = html.json["preview"]["src"].as_str().unwrap().to_string();
    assert!(src.ends_with("/artifacts/artifacts/report.html?inline=1"), "{src}");
    let md = preview("artifacts/card.md").await;
    let rendered = md.json["preview"]["html"].as_str().unwrap();
    assert!(rendered.contains("<h1>Model card</h1>") && !rendered.contains("<img"), "{rendered}");
    assert_eq!(preview("artifacts/model/model.pkl").await.json["preview"]["type"], "download");
    assert_eq!(preview("artifacts/model/MLmodel").await.json["preview"]["type"], "model");
    assert_eq!(preview("artifacts/plot.svg").await.json["preview"]["type"], "image");
    parquet_previews(&app, &ann, &run).await;
    assert_eq!(preview("artifacts/nothing.txt").await.status, 404);

    // Inline files are sandboxed: no script in Myelin's origin, framed only by Myelin.
    let inline = app.get(&src).bearer(&ann.token).send().await;
    assert_eq!(inline.status, 200);
    let csp = inline.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("sandbox allow-scripts;") && !csp.contains("allow-same-origin"), "{csp}");
    assert!(csp.contains("connect-src 'none'"), "{csp}");
    assert_eq!(inline.headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    assert_eq!(inline.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    // A revalidation keeps the sandbox (browsers merge a 304's headers into their copy).
    let etag = inline.headers[header::ETAG].to_str().unwrap().to_string();
    let again = app.get(&src).bearer(&ann.token).header("if-none-match", &etag).send().await;
    assert_eq!(again.status, 304);
    assert_eq!(again.headers[header::CONTENT_SECURITY_POLICY], csp);
    assert_eq!(again.headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    let svg = app
        .get(&format!("{}/artifacts/artifacts/plot.svg?inline=1", base(&run)))
        .bearer(&ann.token)
        .send()
        .await;
    assert!(svg.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().starts_with("sandbox"));
    pdf_is_shown_by_a_sandboxed_viewer(&app, &ann, &run).await;
    // Downloads are attachments of bytes, framed by nobody.
    let dl =
        app.get(&format!("{}/artifacts/artifacts/report.html", base(&run))).bearer(&ann.token).send().await;
    assert_eq!(dl.headers[header::CONTENT_TYPE], "application/octet-stream");
    assert!(dl.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"report.html\""));
    assert_eq!(dl.headers[header::X_FRAME_OPTIONS], "DENY");

    ranges_conditions_and_zips(&app, &ann, &run).await;

    // Traversal and odd paths are refused before the store sees them.
    for bad in ["artifacts/%2e%2e/%2e%2e/x", "artifacts//x", "artifacts/a%5Cb"] {
        let r = put(&app, &ann, &run, bad, b"x".to_vec()).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
        let r = app.get(&format!("{}/preview/{bad}", base(&run))).bearer(&ann.token).send().await;
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
    }

    // Who may: a viewer reads but cannot upload; a stranger sees nothing.
    let vic = app.user("vic").await;
    let added = app
        .post("/api/v1/projects/ann/p/members")
        .bearer(&ann.token)
        .json(json!({"username": "vic", "role": "viewer"}))
        .send()
        .await;
    assert_eq!(added.status, 201, "{}", added.json);
    assert_eq!(
        app.get(&format!("{}/preview/artifacts/card.md", base(&run))).bearer(&vic.token).send().await.status,
        200
    );
    assert_eq!(put(&app, &vic, &run, "artifacts/v.txt", b"v".to_vec()).await.status, 403);
    let eve = app.user("eve").await;
    for path in [
        "/api/v1/projects/ann/p/artifacts".to_string(),
        format!("{}/artifact-dir", base(&run)),
        format!("{}/preview/artifacts/card.md", base(&run)),
        format!("{}/artifacts/artifacts/card.md", base(&run)),
    ] {
        assert_eq!(app.get(&path).bearer(&eve.token).send().await.status, 404, "{path}");
    }
    assert_eq!(put(&app, &eve, &run, "artifacts/e.txt", b"e".to_vec()).await.status, 404);

    // Over the quota nothing is kept nor indexed, and the error names the setting.
    app.state.artifacts.set_quota(backend::artifacts::Quota { bytes: 10_000, files: 1000 });
    let r = put(&app, &ann, &run, "artifacts/big.bin", vec![1u8; 20_000]).await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert!(r.json["message"].as_str().unwrap().contains("--artifact-quota-bytes"), "{}", r.json);
    assert_eq!(search("q=big.bin").await.json["items"], json!([]));

    // Deleting the run forgets its artifacts.
    let stop = app.post(&format!("{}/stop", base(&run))).bearer(&ann.token).send().await;
    assert!(stop.status.is_success(), "{}", stop.json);
    let del = app.call(Method::DELETE, &base(&run)).bearer(&ann.token).send().await;
    assert!(del.status.is_success(), "{}", del.json);
    assert_eq!(search("").await.json["items"], json!([]));
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `Range`, `If-None-Match`, `If-Modified-Since` and a folder as a zip (shared by both stores' tests).
pub(crate) async fn ranges_conditions_and_zips(app: &TestApp, ann: &TestUser, run: &str) {
    let url = format!("{}/artifacts/artifacts/data/metrics.csv", base(run));
    let whole = app.get(&url).bearer(&ann.token).send().await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.headers[header::ACCEPT_RANGES], "bytes");
    let size = whole.body.len();
    let part = app.get(&url).bearer(&ann.token).header("range", "bytes=0-9").send().await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &whole.body[..10]);
    assert_eq!(part.headers[header::CONTENT_RANGE], format!("bytes 0-9/{size}").as_str());
    let tail = app.get(&url).bearer(&ann.token).header("range", "bytes=-5").send().await;
    assert_eq!(tail.body, &whole.body[size - 5..]);
    let out = app.get(&url).bearer(&ann.token).header("range", &format!("bytes={}-", size + 10)).send().await;
    assert_eq!(out.status, 416);
    assert_eq!(out.headers[header::CONTENT_RANGE], format!("bytes */{size}").as_str());
    let etag = whole.headers[header::ETAG].to_str().unwrap().to_string();
    let cached = app.get(&url).bearer(&ann.token).header("if-none-match", &etag).send().await;
    assert_eq!((cached.status.as_u16(), cached.body.len()), (304, 0));
    let modified = whole.headers[header::LAST_MODIFIED].to_str().unwrap().to_string();
    let cached = app.get(&url).bearer(&ann.token).header("if-modified-since", &modified).send().await;
    assert_eq!(cached.status, 304);
    let stale = app.get(&url).bearer(&ann.token).header("if-none-match", "\"other\"").send().await;
    assert_eq!(stale.status, 200);

    let zip = app.get(&format!("{}/artifacts/artifacts/model", base(run))).bearer(&ann.token).send().await;
    assert_eq!(zip.status, 200, "{}", zip.json);
    assert_eq!(zip.headers[header::CONTENT_TYPE], "application/zip");
    assert!(zip.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("model.zip"));
    let reader = async_zip::base::read::mem::ZipFileReader::new(zip.body.clone()).await.expect("a zip");
    let mut names: Vec<String> =
        reader.file().entries().iter().map(|e| e.filename().as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, ["MLmodel", "model.pkl"]);
    let missing =
        app.get(&format!("{}/artifacts/artifacts/nothing", base(run))).bearer(&ann.token).send().await;
    assert_eq!(missing.status, 404);
}

both_dbs!(indexed_searched_browsed_and_previewed);

/// The same on a real S3-compatible store: digests, previews by range, ranges, conditions and zips.
#[tokio::test]
async fn an_s3_store_behaves_the_same() {
    let Some(s3) = crate::helpers::S3Server::start().await else { return };
    let Some(app) = TestApp::sqlite_with_artifacts(s3.artifacts("myelin/browse")).await else { return };
    let ann = app.user("ann").await;
    project(&app, &ann, "p").await;
    let run = seeded(&app, &ann).await;
    let csv = app
        .get(&format!("{}/preview/artifacts/data/metrics.csv", base(&run)))
        .bearer(&ann.token)
        .send()
        .await;
    assert_eq!(csv.json["preview"]["type"], "table", "{}", csv.json);
    assert_eq!(csv.json["info"]["sha256"].as_str().unwrap().len(), 64);
    ranges_conditions_and_zips(&app, &ann, &run).await;
    parquet_previews(&app, &ann, &run).await;
    assert!(s3.files_under("myelin/browse").iter().any(|f| f.ends_with("artifacts/model/MLmodel")));
}
