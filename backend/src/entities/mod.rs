//! sea-orm models of the tables in `migrations`.

pub mod api_token;
pub mod member;
pub mod project;
pub mod run;
pub mod run_event;
pub mod run_token;
pub mod site_setting;
pub mod user;
