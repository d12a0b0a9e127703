//! What the runs API and UI show: the types live in `api-types` (shared with the CLI and the UI).

pub use api_types::{
    InvalidSpec, QueuePosition, Reproducibility, RunDetail, RunPage, RunSummary, Submission, TimelineEntry,
};
