use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub status_message: Option<String>,
    pub original_id: Option<Uuid>,
    pub content: String,
    pub overlays: Json,
    pub params: Json,
    pub compiled: Json,
    pub image: Option<String>,
    pub max_retries: i32,
    pub retries: i32,
    pub timeout_seconds: Option<i64>,
    pub exit_code: Option<i32>,
    pub pid: Option<i32>,
    /// The commit an `init.git` step checked out.
    pub git_commit: Option<String>,
    pub created_by: Uuid,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    pub started_at: Option<ChronoDateTimeUtc>,
    pub finished_at: Option<ChronoDateTimeUtc>,
    pub myelin_version: String,
    /// Deleted through the MLflow API (restorable); hidden from lists.
    pub deleted_at: Option<ChronoDateTimeUtc>,
    /// Datasets logged with MLflow's `log-inputs`.
    pub inputs: Option<Json>,
    /// `local` or `kubernetes`.
    pub executor: String,
    /// The Kubernetes node the run's pod was bound to.
    pub node: Option<String>,
    /// The image digest the node resolved (`imageID` of the main container).
    pub image_id: Option<String>,
    /// Why the run waits or why it died: `{code, message, scheduler_message, findings, at}`.
    pub diagnosis: Option<Json>,
    /// The cache key (sha256 hex) when caching is on for the run.
    pub cache_key: Option<String>,
    /// `{enabled, key, hit, original, explanation, inputs}` (see `services::runs::cache`).
    pub cache: Option<Json>,
    /// The pipeline (DAG or matrix run) this run is a child of.
    pub pipeline_id: Option<Uuid>,
    /// Its step in that pipeline (`spec::pipeline::Step`).
    pub step: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn status(&self) -> crate::Result<spec::lifecycle::Status> {
        crate::store::status_of(self.id, &self.status)
    }

    pub fn kind(&self) -> crate::Result<spec::lifecycle::RunKind> {
        crate::store::kind_of(self.id, &self.kind)
    }

    /// The compiled answer stored with the run (`spec::compile::Run`); external runs have an empty one.
    pub fn compiled(&self) -> crate::Result<spec::compile::Run> {
        self.compiled_part()
    }

    /// The compiled manifests, as the executors apply them.
    pub fn manifests(&self) -> crate::Result<Vec<Json>> {
        #[derive(serde::Deserialize)]
        struct Part {
            #[serde(default)]
            manifests: Vec<Json>,
        }
        Ok(self.compiled_part::<Part>()?.manifests)
    }

    /// The params the run was compiled with.
    pub fn compiled_params(&self) -> crate::Result<serde_json::Map<String, Json>> {
        #[derive(serde::Deserialize)]
        struct Part {
            #[serde(default)]
            params: serde_json::Map<String, Json>,
        }
        Ok(self.compiled_part::<Part>()?.params)
    }

    /// The names of the component's declared outputs.
    pub fn declared_outputs(&self) -> crate::Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Part {
            #[serde(default)]
            outputs: Vec<String>,
        }
        Ok(self.compiled_part::<Part>()?.outputs)
    }

    /// Part of the stored compiled answer, read in place: only `T`'s fields are built, nothing else is copied.
    pub fn compiled_part<T: serde::de::DeserializeOwned>(&self) -> crate::Result<T> {
        T::deserialize(&self.compiled)
            .map_err(|e| crate::Error::Internal(format!("run {}: stored compiled spec: {e}", self.id)))
    }
}

/// What lists and MLflow's run info need of a run: everything but the spec texts (cheap to read by the
/// thousand).
#[derive(Clone, Debug, PartialEq, DerivePartialModel, sea_orm::FromQueryResult)]
#[sea_orm(entity = "Entity")]
pub struct Info {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub created_by: Uuid,
    pub created_at: ChronoDateTimeUtc,
    pub started_at: Option<ChronoDateTimeUtc>,
    pub finished_at: Option<ChronoDateTimeUtc>,
    pub deleted_at: Option<ChronoDateTimeUtc>,
    pub inputs: Option<Json>,
}

impl Info {
    pub fn status(&self) -> crate::Result<spec::lifecycle::Status> {
        crate::store::status_of(self.id, &self.status)
    }

    pub fn kind(&self) -> crate::Result<spec::lifecycle::RunKind> {
        crate::store::kind_of(self.id, &self.kind)
    }
}

impl From<&Model> for Info {
    fn from(m: &Model) -> Self {
        Info {
            id: m.id,
            project_id: m.project_id,
            name: m.name.clone(),
            kind: m.kind.clone(),
            status: m.status.clone(),
            created_by: m.created_by,
            created_at: m.created_at,
            started_at: m.started_at,
            finished_at: m.finished_at,
            deleted_at: m.deleted_at,
            inputs: m.inputs.clone(),
        }
    }
}
