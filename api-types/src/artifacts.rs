//! Artifacts: a project's stored files across runs (with digest and producer run), one run's files by directory,
//! typed previews, and lineage (what a run consumed and produced, and who consumed a digest).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One stored file of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ArtifactInfo {
    /// The run that produced it.
    pub run: Uuid,
    pub run_name: String,
    /// Relative to the run's root (`artifacts/model/MLmodel`).
    pub path: String,
    pub name: String,
    /// What previews it: `image`, `svg`, `table`, `text`, `markdown`, `html`, `pdf`, `mlmodel`, `other`.
    pub kind: String,
    pub size: u64,
    pub sha256: String,
    /// ms since the epoch.
    pub created_ms: i64,
}

/// A page of a project's artifacts, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ArtifactPage {
    pub items: Vec<ArtifactInfo>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<String>,
}

/// One directory of a run's artifacts: its subdirectories, then a page of its files by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ArtifactDir {
    pub run: Uuid,
    pub run_name: String,
    /// Relative to the run's root (`artifacts`, `artifacts/model`).
    pub path: String,
    /// Subdirectory paths (only on the first page).
    pub dirs: Vec<String>,
    pub files: Vec<ArtifactInfo>,
    /// Pass as `after` for the next page of files.
    pub next: Option<String>,
    /// When the directory holds an MLflow model (`MLmodel`), its summary.
    pub model: Option<ModelSummaryCard>,
}

/// What an `MLmodel` file says: flavours, signature, where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ModelSummaryCard {
    /// Flavour names with their loader module or version when given (`python_function`, `sklearn 1.5.0`).
    pub flavors: Vec<String>,
    /// Signature inputs and outputs as `name: type` (or the type alone for tensors without names).
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub run_id: Option<String>,
    pub created: Option<String>,
    pub mlflow_version: Option<String>,
}

/// A file's preview, shaped for the page to render without trusting the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Preview {
    /// Shown with `<img>` from the raw address (an SVG's scripts never run in an image).
    Image { src: String },
    /// The first rows of a CSV or TSV (read from the start of the file only), or of a Parquet file (its schema as
    /// the header, `name: type`; read from its footer and first row group only).
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        truncated: bool,
        /// What else is known (a Parquet file's row count, or why its rows are not shown).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Text with a language for highlighting (`json`, `yaml`, `python`, `log`, `text`, ...).
    Text { language: String, text: String, truncated: bool },
    /// Markdown rendered with raw HTML shown as text and only safe link targets.
    Markdown { html: String, truncated: bool },
    /// HTML or PDF: only inside a sandboxed frame from the raw address (served with `CSP: sandbox`).
    Frame { src: String, mime: String },
    /// An `MLmodel` file.
    Model { card: ModelSummaryCard },
    /// Nothing to show: download it.
    Download { reason: String },
}

/// One file, with what it previews as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ArtifactView {
    pub info: ArtifactInfo,
    pub preview: Preview,
    /// Where to download it.
    pub download: String,
    /// Runs that consumed this digest (lineage).
    pub consumers: Vec<LineageRun>,
}

/// A run on one side of a lineage edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LineageRun {
    pub uuid: Uuid,
    pub name: String,
    pub status: String,
    /// What flowed: the artifact path, dataset name or output name.
    pub what: String,
}

/// Something a run consumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LineageInput {
    /// `run` (an upstream op's outputs), `dataset` (MLflow `log_inputs`), `artifact`, `git`.
    pub kind: String,
    pub name: String,
    pub path: Option<String>,
    pub digest: Option<String>,
    /// The run it came from, when known (an upstream op, or the producer of an artifact with that digest).
    pub source: Option<LineageRun>,
}

/// Where a run's inputs came from and where its outputs went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RunLineage {
    pub inputs: Vec<LineageInput>,
    /// Runs whose outputs this run consumed.
    pub upstream: Vec<LineageRun>,
    /// Runs that consumed this run's outputs (an upstream link, or one of its artifacts' digests).
    pub downstream: Vec<LineageRun>,
    /// The first of its stored artifacts, by path.
    pub outputs: Vec<ArtifactInfo>,
    /// How many artifacts it stored in all.
    pub output_count: u64,
    /// Registered model versions made from it (`name v3`).
    pub models: Vec<String>,
    /// The outputs its spec declares, with the values it gave them.
    pub declared: Vec<DeclaredOutput>,
}

/// An output a run's spec declares: the value the run gave it (a metric, param or tag of that name; `None` until
/// it does) and, for an artifact output (`path`, `artifacts`), the recorded files that value names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DeclaredOutput {
    pub name: String,
    pub value: Option<String>,
    pub artifact: bool,
    pub files: Vec<ArtifactInfo>,
}

/// One line of a text diff: `same`, `removed` (only in the first run's file), `added` (only in the second's), or
/// `gap` (unchanged lines left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DiffLine {
    pub tag: String,
    /// Its line number in the first file, and in the second.
    pub a: Option<u32>,
    pub b: Option<u32>,
    pub text: String,
}

/// One side of a file compared across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ArtifactSide {
    pub run: Uuid,
    pub run_name: String,
    /// The file's size; absent when the run has no file at that path.
    pub size: Option<u64>,
    /// Its sha256 (empty when it was stored before digests were recorded, or is absent).
    pub sha256: String,
    /// Its inline address, to show an image.
    pub src: Option<String>,
    pub download: Option<String>,
}

/// The same path in two runs, side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ArtifactDiff {
    pub path: String,
    /// How they are compared: `image` (shown side by side), `text` (a line diff), `other` (facts only).
    pub kind: String,
    pub a: ArtifactSide,
    pub b: ArtifactSide,
    /// Both runs have it, with the same sha256.
    pub same: bool,
    /// For `text`: the changed lines with context (empty when equal).
    pub lines: Vec<DiffLine>,
    /// Lines were left out: the files are longer than a diff reads, or the diff is longer than it shows.
    pub truncated: bool,
}

/// Starts (or resumes) an upload of one large file in parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewUpload {
    /// Where it goes, relative to the run's root (`artifacts/data/train.parquet`).
    pub path: String,
    /// Its whole size in bytes.
    pub size: u64,
    /// Says which local file this is (the CLI sends size and modification time): an open upload of the same
    /// path, size and fingerprint by the same user is resumed instead of started again.
    #[serde(default)]
    pub fingerprint: String,
}

/// The request header carrying a part's CRC-32 (IEEE, 8 hex digits): the server refuses a part that arrives
/// otherwise, so a damaged part is sent again instead of stored.
pub const CRC32_HEADER: &str = "x-checksum-crc32";

/// An upload in parts: send part `next_part` (bytes `received..received + part_size`), then complete it. The
/// file appears at `path` only when it is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UploadSession {
    pub id: Uuid,
    pub run: Uuid,
    pub path: String,
    pub size: u64,
    /// Every part but the last has this many bytes.
    pub part_size: u64,
    /// Bytes received so far (whole parts).
    pub received: u64,
    /// The part the server expects next (from 0).
    pub next_part: u32,
    /// When an idle session is dropped, ms since the epoch.
    pub expires_ms: i64,
}

/// `s` with every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`) percent-encoded: a path segment or
/// a query value.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Each segment of a `/`-separated path percent-encoded, the slashes kept.
pub fn encode_path(path: &str) -> String {
    path.split('/').map(percent_encode).collect::<Vec<_>>().join("/")
}
