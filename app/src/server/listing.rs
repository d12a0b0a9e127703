//! The runs table's view, as its address holds it (`?page=&sort=&q=&cols=&asc=&children=`).

/// What the runs table shows: page, order, query, extra columns and whether pipelines' ops and matrix
/// children are listed too (all in the address, so links share it).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Listing {
    pub page: u64,
    pub sort: String,
    pub asc: Option<bool>,
    pub q: String,
    pub cols: String,
    pub children: bool,
}

impl Listing {
    pub fn href(&self, base: &str) -> String {
        let mut parts = Vec::new();
        if self.page > 0 {
            parts.push(format!("page={}", self.page));
        }
        for (k, v) in [("sort", &self.sort), ("q", &self.q), ("cols", &self.cols)] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        if let Some(a) = self.asc {
            parts.push(format!("asc={a}"));
        }
        if self.children {
            parts.push("children=1".into());
        }
        if parts.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", parts.join("&"))
        }
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
