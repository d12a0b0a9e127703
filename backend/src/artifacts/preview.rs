//! Previews of stored files, decided from the name and the first bytes only: what kind a file is, the MIME type
//! it may be served inline as, and the typed preview the page renders (a table, text, safe Markdown, an image or
//! a sandboxed frame). Pure: the caller reads the bytes (a range from the start of the file).

use api_types::{ModelSummaryCard, Preview};

/// How much of a file a preview reads: a 500 MB CSV costs this, not its size.
pub const PREVIEW_BYTES: u64 = 256 * 1024;
/// Rows of a table preview.
pub const PREVIEW_ROWS: usize = 100;

/// What previews a file, by its name: `image`, `svg`, `table`, `text`, `markdown`, `html`, `pdf`, `mlmodel`,
/// `other`.
pub fn kind_of(name: &str) -> &'static str {
    if name == "MLmodel" {
        return "mlmodel";
    }
    match extension(name).as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" => "image",
        "svg" => "svg",
        "csv" | "tsv" | "parquet" => "table",
        "md" | "markdown" => "markdown",
        "html" | "htm" => "html",
        "pdf" => "pdf",
        _ if !language_of(name).is_empty() => "text",
        _ => "other",
    }
}

fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

/// The highlighting language of a text file, `""` when it is not one Myelin shows as text.
pub fn language_of(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if matches!(lower.as_str(), "dockerfile" | "makefile" | "license" | "readme" | "requirements.txt") {
        return "text";
    }
    match extension(name).as_str() {
        "json" | "jsonl" | "ipynb" => "json",
        "yaml" | "yml" => "yaml",
        "py" => "python",
        "toml" | "cfg" | "ini" => "toml",
        "sh" | "bash" => "shell",
        "log" | "out" | "err" => "log",
        "txt" | "text" | "rst" | "xml" | "js" | "ts" | "rs" | "go" | "java" | "c" | "h" | "cpp" | "sql"
        | "r" => "text",
        _ => "",
    }
}

/// The type a file is served as when shown inline; anything that could run script in Myelin's origin is either
/// an image (SVG through `<img>` and `CSP: sandbox`) or only ever framed with the `sandbox` policy.
pub fn mime_of(name: &str) -> &'static str {
    match extension(name).as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "html" | "htm" => "text/html; charset=utf-8",
        "pdf" => "application/pdf",
        _ if !language_of(name).is_empty() || matches!(kind_of(name), "table" | "markdown" | "mlmodel") => {
            "text/plain; charset=utf-8"
        }
        _ => "application/octet-stream",
    }
}

/// The preview of `name` from its first bytes (`head`, at most `PREVIEW_BYTES`), `size` in all; `raw` is where
/// the page may load it inline.
pub fn preview(name: &str, size: u64, head: &[u8], raw: &str) -> Preview {
    let truncated = (head.len() as u64) < size;
    match kind_of(name) {
        "image" | "svg" => Preview::Image { src: raw.to_string() },
        "pdf" if size > super::pdf_view::PDF_PREVIEW_MAX => Preview::Download {
            reason: format!("a PDF over {} MiB is only downloaded", super::pdf_view::PDF_PREVIEW_MAX >> 20),
        },
        "html" | "pdf" => Preview::Frame { src: raw.to_string(), mime: mime_of(name).to_string() },
        "table" if extension(name) == "parquet" => {
            Preview::Download { reason: "a Parquet file is previewed from its footer".to_string() }
        }
        "table" => table(head, if extension(name) == "tsv" { b'\t' } else { b',' }, truncated),
        "markdown" => {
            Preview::Markdown { html: crate::markdown::to_html(&text_of(head, truncated)), truncated }
        }
        "mlmodel" => match model_card(&text_of(head, truncated)) {
            Some(card) => Preview::Model { card },
            None => text("yaml", head, truncated),
        },
        "text" => text(language_of(name), head, truncated),
        _ if looks_textual(head) && size > 0 => text("text", head, truncated),
        _ => Preview::Download { reason: "no preview for this type of file".to_string() },
    }
}

/// UTF-8 text (lossy), without a last line cut in the middle when the file goes on.
fn text_of(head: &[u8], truncated: bool) -> String {
    let cut = if truncated {
        head.iter().rposition(|b| *b == b'\n').map_or(head.len(), |i| i + 1)
    } else {
        head.len()
    };
    String::from_utf8_lossy(&head[..cut]).into_owned()
}

fn text(language: &str, head: &[u8], truncated: bool) -> Preview {
    Preview::Text { language: language.to_string(), text: text_of(head, truncated), truncated }
}

/// Printable text: valid UTF-8 (but for a character cut at the end) with no NULs.
pub fn looks_textual(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(8192)];
    if sample.contains(&0) {
        return false;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The first rows of a delimited file; a file that goes on past `head` loses its cut last line.
fn table(head: &[u8], delimiter: u8, truncated: bool) -> Preview {
    let text = text_of(head, truncated);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(r)) => r.iter().map(str::to_string).collect(),
        Some(Err(e)) => return Preview::Download { reason: format!("not a readable table: {e}") },
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    let mut more = truncated;
    for r in records {
        if rows.len() == PREVIEW_ROWS {
            more = true;
            break;
        }
        match r {
            Ok(r) => rows.push(r.iter().map(str::to_string).collect()),
            Err(_) => {
                more = true;
                break;
            }
        }
    }
    Preview::Table { header, rows, truncated: more, note: None }
}

/// An `MLmodel` file's flavours, signature and origin; `None` when it is not YAML of that shape.
pub fn model_card(yaml: &str) -> Option<ModelSummaryCard> {
    use yaml_rust2::{Yaml, YamlLoader};
    let doc = YamlLoader::load_from_str(yaml).ok()?.into_iter().next()?;
    let flavors = doc["flavors"].as_hash()?;
    let str_of = |y: &Yaml| match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    };
    let flavor_names = flavors
        .iter()
        .filter_map(|(k, v)| {
            let name = k.as_str()?;
            let version =
                ["sklearn_version", "pytorch_version", "xgb_version", "keras_version", "loader_module"]
                    .iter()
                    .find_map(|key| str_of(&v[*key]));
            Some(match version {
                Some(v) => format!("{name} {v}"),
                None => name.to_string(),
            })
        })
        .collect();
    let side = |key: &str| -> Vec<String> {
        let Some(raw) = doc["signature"][key].as_str() else { return Vec::new() };
        let Ok(serde_json::Value::Array(cols)) = serde_json::from_str::<serde_json::Value>(raw) else {
            return Vec::new();
        };
        cols.iter()
            .map(|c| {
                let ty = c["type"].as_str().unwrap_or("?");
                let ty = match (ty, c["tensor-spec"]["dtype"].as_str()) {
                    ("tensor", Some(d)) => format!("tensor {d}"),
                    _ => ty.to_string(),
                };
                match c["name"].as_str() {
                    Some(n) => format!("{n}: {ty}"),
                    None => ty,
                }
            })
            .collect()
    };
    Some(ModelSummaryCard {
        flavors: flavor_names,
        inputs: side("inputs"),
        outputs: side("outputs"),
        run_id: str_of(&doc["run_id"]),
        created: str_of(&doc["utc_time_created"]),
        mlflow_version: str_of(&doc["mlflow_version"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_types_by_name() {
        assert_eq!(kind_of("plot.PNG"), "image");
        assert_eq!(kind_of("fig.svg"), "svg");
        assert_eq!(kind_of("data.tsv"), "table");
        assert_eq!(kind_of("MLmodel"), "mlmodel");
        assert_eq!(kind_of("report.html"), "html");
        assert_eq!(kind_of("train.log"), "text");
        assert_eq!(kind_of("weights.bin"), "other");
        assert_eq!(mime_of("page.html"), "text/html; charset=utf-8");
        assert_eq!(mime_of("weights.pt"), "application/octet-stream");
        assert_eq!(mime_of("config.yaml"), "text/plain; charset=utf-8");
    }

    #[test]
    fn a_cut_csv_keeps_whole_rows_only() {
        let head = b"a,b\n1,2\n3,4\n5,";
        let Preview::Table { header, rows, truncated, .. } = preview("x.csv", 1000, head, "") else {
            panic!()
        };
        assert_eq!(header, ["a", "b"]);
        assert_eq!(rows, [vec!["1", "2"], vec!["3", "4"]]);
        assert!(truncated);
        let Preview::Table { rows, truncated, .. } = preview("x.tsv", 8, b"a\tb\n1\t2\n", "") else {
            panic!()
        };
        assert_eq!(rows, [vec!["1", "2"]]);
        assert!(!truncated);
    }

    #[test]
    fn a_long_table_stops_at_the_row_limit() {
        let mut s = String::from("n\n");
        for i in 0..500 {
            s.push_str(&format!("{i}\n"));
        }
        let Preview::Table { rows, truncated, .. } = preview("x.csv", s.len() as u64, s.as_bytes(), "")
        else {
            panic!()
        };
        assert_eq!(rows.len(), PREVIEW_ROWS);
        assert!(truncated);
    }

    #[test]
    fn markdown_shows_raw_html_as_text() {
        let Preview::Markdown { html, .. } =
            preview("card.md", 40, b"# Card\n<script>alert(1)</script>\n", "")
        else {
            panic!()
        };
        assert!(html.contains("<h1>Card</h1>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn html_and_pdf_only_frame_and_images_only_image() {
        assert!(
            matches!(preview("r.html", 10, b"<script>", "/raw"), Preview::Frame { src, .. } if src == "/raw")
        );
        assert!(matches!(preview("r.pdf", 10, b"%PDF", "/raw"), Preview::Frame { .. }));
        let big = super::super::pdf_view::PDF_PREVIEW_MAX + 1;
        assert!(matches!(preview("r.pdf", big, b"%PDF", "/raw"), Preview::Download { .. }));
        assert!(matches!(preview("f.svg", 10, b"<svg", "/raw"), Preview::Image { .. }));
    }

    #[test]
    fn binary_downloads_and_unknown_text_shows() {
        assert!(matches!(preview("w.bin", 4, b"\0\x01\x02\x03", ""), Preview::Download { .. }));
        let Preview::Text { language, text, .. } = preview("NOTES", 5, b"hello", "") else { panic!() };
        assert_eq!((language.as_str(), text.as_str()), ("text", "hello"));
    }

    #[test]
    fn mlmodel_is_summarised() {
        let yaml = r#"
artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    python_version: 3.11.4
  sklearn:
    sklearn_version: 1.5.0
mlflow_version: 2.16.0
run_id: abc
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
utc_time_created: '2026-12-01 10:00:00.000000'
"#;
        let Preview::Model { card } = preview("MLmodel", yaml.len() as u64, yaml.as_bytes(), "") else {
            panic!()
        };
        assert_eq!(card.flavors, ["python_function mlflow.sklearn", "sklearn 1.5.0"]);
        assert_eq!(card.inputs, ["x: double"]);
        assert_eq!(card.outputs, ["tensor float64"]);
        assert_eq!(card.run_id.as_deref(), Some("abc"));
        // Not a model: shown as YAML.
        assert!(matches!(preview("MLmodel", 3, b"a: 1", ""), Preview::Text { .. }));
    }
}
