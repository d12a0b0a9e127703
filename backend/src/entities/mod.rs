//! sea-orm models of the tables in `migrations`.

pub mod api_token;
pub mod member;
pub mod project;
pub mod site_setting;
pub mod user;
