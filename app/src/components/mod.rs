//! Pieces shared by pages.

pub mod chart;
pub mod forms;
pub mod nav;
