//! Pieces shared by pages.

pub mod forms;
pub mod nav;
