//! The page a PDF is previewed in. Inline artifacts are served under `Content-Security-Policy: sandbox`, and a
//! browser will not show a PDF in a sandboxed frame itself, so a PDF is answered with this page instead: the
//! file's bytes inline (base64; the sandboxed frame cannot fetch them with the user's session) and pdf.js
//! (`editor/src/pdfview.js`, served as `/pkg/pdfview.js`), which draws the pages into canvases. The policy lets
//! that one script run (by nonce) and nothing else reach the network.

use base64::Engine;

/// PDFs up to this size are previewed (the page carries the whole file); larger ones are downloaded.
pub const PDF_PREVIEW_MAX: u64 = 32 * 1024 * 1024;

/// Myelin's PDF viewer, by the plain name that stands for the current build's file (`app::assets::pkg`).
const SCRIPT: &str = "/pkg/pdfview.js";

/// The page's policy: the sandbox of every inline artifact; the only script is the viewer carrying `nonce`.
pub fn policy(nonce: &str) -> String {
    format!(
        "sandbox allow-scripts; default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; \
         img-src data: blob:; font-src data: blob:; connect-src 'none'; worker-src 'none'; form-action 'none'; \
         frame-ancestors 'self'"
    )
}

/// The viewer page for the PDF `name` holding `pdf`.
pub fn page(name: &str, pdf: &[u8], nonce: &str) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(pdf);
    let title = escape(name);
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>\
         body{{margin:0;background:#525659;font:14px system-ui,sans-serif}}\
         #status{{color:#fff;margin:0;padding:8px 12px}}#status:empty{{display:none}}\
         canvas{{display:block;margin:12px auto;max-width:calc(100% - 24px);height:auto;background:#fff;\
         box-shadow:0 1px 4px #0008}}</style></head>\
         <body><p id=\"status\">Drawing {title}…</p><div id=\"pages\"></div>\
         <script type=\"application/octet-stream\" id=\"pdf-data\">{data}</script>\
         <script nonce=\"{nonce}\" src=\"{SCRIPT}\"></script></body></html>"
    )
}

/// Text for an HTML element or attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_the_file_and_runs_only_the_viewer() {
        let html = page("<b>r&d</b>.pdf", b"%PDF-1.4 \x00\xff", "n0nce");
        assert!(html.contains("<title>&lt;b&gt;r&amp;d&lt;/b&gt;.pdf</title>"), "{html}");
        assert!(!html.contains("<b>"), "the name is text: {html}");
        let data = html.split("id=\"pdf-data\">").nth(1).and_then(|s| s.split("</script>").next()).unwrap();
        let decoded = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
        assert_eq!(decoded, b"%PDF-1.4 \x00\xff");
        assert!(html.contains("<script nonce=\"n0nce\" src=\"/pkg/pdfview.js\"></script>"), "{html}");
        // Base64 has no `<`: the bytes cannot end the script element early.
        assert!(!data.contains('<'));
        let p = policy("n0nce");
        assert!(p.starts_with("sandbox allow-scripts;"), "{p}");
        let directive =
            |name: &str| p.split(';').map(str::trim).find(|d| d.starts_with(name)).unwrap_or_default();
        assert_eq!(directive("script-src"), "script-src 'nonce-n0nce'");
        assert_eq!(directive("connect-src"), "connect-src 'none'");
        assert!(!p.contains("allow-same-origin"), "{p}");
    }
}
