//! Saving what the page shows as a file (a table as CSV, a chart as SVG), made in the browser: no round trip.

/// Offers `text` as a download named `name` (browser only; nothing on the server, where no click happens).
#[allow(unused_variables)]
pub fn save(name: &str, mime: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let parts = web_sys::js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
        let doc = leptos::prelude::document();
        if let Some(a) =
            doc.create_element("a").ok().and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
        {
            a.set_href(&url);
            a.set_download(name);
            a.click();
        }
        // The download starts after this returns: the URL must outlive it.
        leptos::prelude::set_timeout(
            move || {
                let _ = web_sys::Url::revoke_object_url(&url);
            },
            std::time::Duration::from_secs(60),
        );
    }
}

/// RFC 4180 CSV: every cell quoted when it holds a comma, quote or line break.
pub fn csv(rows: &[Vec<String>]) -> String {
    let cell = |c: &String| {
        if c.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.clone()
        }
    };
    rows.iter().map(|r| r.iter().map(cell).collect::<Vec<_>>().join(",") + "\r\n").collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_with_commas_quotes_or_newlines_are_quoted() {
        let rows = vec![vec!["key".into(), "a,b".into()], vec!["say \"hi\"".into(), "x\ny".into()]];
        assert_eq!(super::csv(&rows), "key,\"a,b\"\r\n\"say \"\"hi\"\"\",\"x\ny\"\r\n");
    }
}
