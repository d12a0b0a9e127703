//! Saving what the page shows as a file (a table as CSV, a chart as SVG or PNG), made in the browser: no round
//! trip.

/// Offers `text` as a download named `name` (browser only; nothing on the server, where no click happens).
#[allow(unused_variables)]
pub fn save(name: &str, mime: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let parts = web_sys::js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
        follow(&url, name);
        // The download starts after this returns: the URL must outlive it.
        leptos::prelude::set_timeout(
            move || {
                let _ = web_sys::Url::revoke_object_url(&url);
            },
            std::time::Duration::from_secs(60),
        );
    }
}

/// Clicks a link to `url` that downloads it as `name`.
#[cfg(feature = "hydrate")]
fn follow(url: &str, name: &str) {
    use wasm_bindgen::JsCast;
    let doc = leptos::prelude::document();
    if let Some(a) =
        doc.create_element("a").ok().and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(url);
        a.set_download(name);
        a.click();
    }
}

/// Offers an SVG document as a PNG named `name`, drawn at twice its size (the browser renders the SVG onto a
/// canvas).
#[allow(unused_variables)]
pub fn save_png(name: &str, svg: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Ok(img) = web_sys::HtmlImageElement::new() else { return };
        let (name, image) = (name.to_string(), img.clone());
        let loaded = wasm_bindgen::closure::Closure::once_into_js(move || {
            let doc = leptos::prelude::document();
            let Some(canvas) = doc
                .create_element("canvas")
                .ok()
                .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok())
            else {
                return;
            };
            canvas.set_width(image.natural_width() * 2);
            canvas.set_height(image.natural_height() * 2);
            let Some(ctx) = canvas
                .get_context("2d")
                .ok()
                .flatten()
                .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
            else {
                return;
            };
            let _ = ctx.scale(2.0, 2.0);
            if ctx.draw_image_with_html_image_element(&image, 0.0, 0.0).is_ok() {
                if let Ok(url) = canvas.to_data_url_with_type("image/png") {
                    follow(&url, &name);
                }
            }
        });
        img.set_onload(Some(loaded.unchecked_ref()));
        let encoded = String::from(web_sys::js_sys::encode_uri_component(svg));
        img.set_src(&format!("data:image/svg+xml;charset=utf-8,{encoded}"));
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
