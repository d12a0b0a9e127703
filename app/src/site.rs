//! What the browser learns of the site's asset names. Every asset name carries a hash of its content
//! (`scripts/build.sh`), so a page must be told the names: the server writes them into the page's head and the
//! editor reads them when it loads its parts.

use serde::{Deserialize, Serialize};

/// The `<meta name=…>` that holds the editor's asset URLs (JSON).
pub const EDITOR_META: &str = "myelin-editor-assets";

/// The editor page's own parts: CodeMirror's bundle and the compiler module (glue and wasm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditorAssets {
    pub editor: String,
    pub core: String,
    pub core_wasm: String,
}

impl EditorAssets {
    #[cfg(feature = "ssr")]
    pub fn of_site() -> Self {
        Self {
            editor: crate::assets::url("editor.js"),
            core: crate::assets::url("editor_core.js"),
            core_wasm: crate::assets::url("editor_core_bg.wasm"),
        }
    }

    #[cfg(feature = "hydrate")]
    pub fn from_page() -> Option<Self> {
        let meta = document().query_selector(&format!("meta[name='{EDITOR_META}']")).ok()??;
        serde_json::from_str(&meta.get_attribute("content")?).ok()
    }
}

#[cfg(feature = "hydrate")]
use leptos::prelude::document;
