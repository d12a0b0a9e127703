//! The model registry with team review: models and versions (MLflow's registry, scoped to a project), the
//! project's policy, promotion requests with their evidence and thread, alias history and the audit trail.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Comparison, WhyDifferent};

/// Which aliases move only through an approved request, and how many approvals one needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RegistryPolicy {
    pub protected_aliases: Vec<String>,
    /// 1 to 10.
    pub required_approvals: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AliasInfo {
    pub alias: String,
    pub version: i32,
    pub protected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ModelSummary {
    pub name: String,
    pub description: String,
    pub latest_version: Option<i32>,
    pub versions: usize,
    pub aliases: Vec<AliasInfo>,
    pub tags: BTreeMap<String, String>,
    /// ms since the epoch.
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VersionSummary {
    pub version: i32,
    pub source: String,
    /// The run that produced it (its page: `/{owner}/{project}/runs/{run}`).
    pub run: Option<Uuid>,
    pub run_name: Option<String>,
    pub status: String,
    pub stage: String,
    pub aliases: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub description: String,
    pub created_ms: i64,
    pub created_by: String,
    /// The source run's latest value of each metric.
    pub metrics: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ModelDetail {
    pub model: ModelSummary,
    /// Newest first.
    pub versions: Vec<VersionSummary>,
    /// Who may approve besides the project's admins and owner.
    pub reviewers: Vec<String>,
    pub policy: RegistryPolicy,
    pub requests: Vec<RequestSummary>,
}

/// `PATCH …/models/{model}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UpdateModel {
    pub description: String,
}

/// `PUT …/models/{model}/reviewers`: usernames, each a member of the project.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SetReviewers {
    pub reviewers: Vec<String>,
}

/// A version with where it came from: its source run's params, metrics, image, commit and dataset digests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VersionDetail {
    pub model: String,
    pub version: VersionSummary,
    pub lineage: Option<Lineage>,
    /// Where the files are (an artifact URI the MLflow client downloads through Myelin).
    pub storage: String,
    /// The version's files, relative to `storage`'s run artifacts (`path` for the run's artifact routes).
    pub files_path: Option<String>,
    /// Every move of an alias to or from this version.
    pub history: Vec<AliasMove>,
    pub requests: Vec<RequestSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Lineage {
    pub run: Uuid,
    pub run_name: String,
    pub status: String,
    pub params: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub image: Option<String>,
    pub image_digest: Option<String>,
    pub git_commit: Option<String>,
    /// Dataset name → digest (MLflow `log_inputs`).
    pub datasets: BTreeMap<String, String>,
}

/// `POST …/models/{model}/promotions`: ask for `alias` to point at `version`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PromotionRequestBody {
    pub version: i32,
    pub alias: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RequestSummary {
    pub id: Uuid,
    /// `owner/name` of the model's project.
    pub project: String,
    pub model: String,
    pub version: i32,
    pub alias: String,
    pub reason: String,
    /// `open`, `approved`, `rejected`, `cancelled` or `superseded`.
    pub state: String,
    pub required: i32,
    pub approvals: i32,
    pub requested_by: String,
    pub created_ms: i64,
    pub closed_ms: Option<i64>,
    pub closed_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ThreadEntry {
    pub user: String,
    /// `comment`, `approve` or `reject`.
    pub kind: String,
    /// Markdown (rendered without raw HTML).
    pub body: String,
    pub created_ms: i64,
}

/// Computed, not typed: the candidate against the version the alias points at now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// The version the alias points at now (`null`: none yet).
    pub current_version: Option<i32>,
    pub current_run: Option<Uuid>,
    pub candidate_run: Option<Uuid>,
    /// `[current, candidate]` (or the candidate alone): metrics with each key's direction and deltas against
    /// the current version, params, tags, image, digest and commit.
    pub comparison: Option<Comparison>,
    /// Everything that decides a result, current (`a`) against candidate (`b`).
    pub why: Option<WhyDifferent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RequestDetail {
    pub request: RequestSummary,
    pub thread: Vec<ThreadEntry>,
    pub evidence: Evidence,
    /// Whether the caller may approve or reject it now.
    pub can_review: bool,
    pub can_cancel: bool,
}

/// `POST …/promotions/{id}/approve|reject|comment`: the text (Markdown), optional for approve and reject.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReviewBody {
    #[serde(default)]
    pub body: String,
}

/// `GET /api/v1/reviews`: requests awaiting the caller's review, and those the caller opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Inbox {
    pub awaiting: Vec<RequestSummary>,
    pub mine: Vec<RequestSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AliasMove {
    pub alias: String,
    pub at_ms: i64,
    /// Where it pointed from then on (`null`: removed).
    pub version: Option<i32>,
    pub actor: String,
    pub request: Option<Uuid>,
}

/// `GET …/models/{model}/aliases/{alias}/history[?at=ms]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AliasHistory {
    pub alias: String,
    pub at_ms: Option<i64>,
    /// The version the alias pointed at, at `at_ms` (now when not given).
    pub version_at: Option<i32>,
    pub moves: Vec<AliasMove>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub model: String,
    pub alias: Option<String>,
    pub version: Option<i32>,
    pub request: Option<Uuid>,
    pub detail: serde_json::Value,
    pub hash: String,
}

/// `GET …/registry/audit`: the project's trail, and whether its hash chain holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AuditTrail {
    pub entries: Vec<AuditEntry>,
    pub intact: bool,
    /// The first entry where the chain breaks.
    pub broken_at: Option<i64>,
    /// Pass as `before` for the page of older entries; none when this page reaches the first.
    pub next_before: Option<i64>,
}
