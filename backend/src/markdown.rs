//! Markdown people write (review comments, reasons, descriptions) as HTML that is safe to put in a page: raw
//! HTML in the text is shown as text, and links and images keep only `http`, `https`, `mailto` and relative
//! targets (no `javascript:` or `data:`).

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        // A scheme before any `/`, `?` or `#`: only these.
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

pub fn to_html(text: &str) -> String {
    let parser =
        Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|e| match e {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Link { link_type, dest_url, title, id }) if !safe_url(&dest_url) => {
                Event::Start(Tag::Link { link_type, dest_url: CowStr::from("#"), title, id })
            }
            Event::Start(Tag::Image { link_type, dest_url, title, id }) if !safe_url(&dest_url) => {
                Event::Start(Tag::Image { link_type, dest_url: CowStr::from("#"), title, id })
            }
            other => other,
        });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn markdown_renders_but_raw_html_and_script_links_do_not() {
        assert_eq!(to_html("**ok** _x_"), "<p><strong>ok</strong> <em>x</em></p>\n");
        let h = to_html("<script>alert(1)</script> <img src=x onerror=alert(1)>");
        assert!(!h.contains("<script") && !h.contains("<img"), "{h}");
        assert!(h.contains("&lt;script&gt;"), "{h}");
        let h = to_html(
            "[a](javascript:alert(1)) [b](JavaScript:x) ![i](data:text/html,x) [c](https://e.com) [d](/x)",
        );
        assert!(!h.to_lowercase().contains("javascript:") && !h.contains("data:"), "{h}");
        assert!(h.contains("href=\"https://e.com\"") && h.contains("href=\"/x\""), "{h}");
    }
}
