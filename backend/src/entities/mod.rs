//! sea-orm models of the tables in `migrations`.

pub mod api_token;
pub mod audit_event;
pub mod component;
pub mod invitation;
pub mod latest_metric;
pub mod logged_model;
pub mod logged_model_param;
pub mod logged_model_tag;
pub mod member;
pub mod metric_chunk;
pub mod metric_summary;
pub mod model_alias;
pub mod model_version;
pub mod model_version_tag;
pub mod project;
pub mod registered_model;
pub mod registered_model_tag;
pub mod run;
pub mod run_event;
pub mod run_model_output;
pub mod run_param;
pub mod run_tag;
pub mod run_token;
pub mod site_setting;
pub mod user;
