//! Who is calling: passwords, API tokens, browser sessions, CSRF and login rate limits.

pub mod csrf;
pub mod extract;
pub mod limit;
pub mod password;
pub mod session;
pub mod token;

pub use extract::{Caller, CurrentUser};
