//! Pieces shared by pages.

pub mod browser_data;
pub mod chart;
pub mod code;
pub mod download;
pub mod files;
pub mod forms;
pub mod lines_chart;
pub mod nav;
pub mod page_data;
pub mod scatter;
