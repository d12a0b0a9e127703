//! Who is calling: passwords, API tokens, browser sessions, CSRF, allowed hosts and security headers, login rate limits.

pub mod cache;
pub mod csrf;
pub mod extract;
pub mod limit;
pub mod password;
pub mod session;
pub mod token;
pub mod web;

pub use extract::{Caller, CurrentUser};
