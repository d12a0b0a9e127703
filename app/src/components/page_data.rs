//! A page's data, loaded once per server render.
//!
//! On the server Leptos walks a `Suspense`'s children again and again before rendering them (`dry_resolve`, to
//! find every resource read behind another one), and each walk runs the reactive closures in it anew: the
//! router's outlet (so a project tab's component, drawn inside the project's `Suspend`) and any `Suspend`
//! whose data is there. A component built in such a place and calling `Resource::new` made a new resource per
//! walk: the query ran up to three times and its answer was written into the page up to three times (the
//! compare page at 500 runs was 15 MB instead of 5). `page_resource` keeps one resource per call site and
//! source value for the whole render, so every walk shares it, and `page_value` one `SharedValue` per call site.
//! In the browser a component is built once, and they are `Resource::new` and `SharedValue::new`.
//!
//! The resource ids the server gives out must follow the order in which the browser creates them while
//! hydrating, so use it only for resources a page holds once (not in a list of rows, say), as every page does.

use std::fmt::Debug;
use std::future::Future;

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// The resources of one server render, by call site and source value. Provided by `App`.
#[derive(Clone, Default)]
pub struct RenderCache(#[cfg(feature = "ssr")] std::sync::Arc<std::sync::Mutex<cache::Map>>);

#[cfg(feature = "ssr")]
mod cache {
    use std::any::Any;
    use std::collections::HashMap;
    use std::panic::Location;

    pub type Key = (&'static Location<'static>, String);
    pub type Map = HashMap<Key, Box<dyn Any + Send + Sync>>;

    impl super::RenderCache {
        /// The value kept under `key`, or `make()`'s, kept.
        pub fn get_or_make<T: Clone + Send + Sync + 'static>(&self, key: Key, make: impl FnOnce() -> T) -> T {
            let found =
                self.0.lock().ok().and_then(|m| m.get(&key).and_then(|v| v.downcast_ref::<T>().cloned()));
            if let Some(v) = found {
                return v;
            }
            // Made without the lock held: making may render, and read the cache again.
            let v = make();
            if let Ok(mut m) = self.0.lock() {
                m.insert(key, Box::new(v.clone()));
            }
            v
        }
    }
}

/// `Resource::new(source, fetcher)`, shared by every walk of one server render.
#[track_caller]
pub fn page_resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T>
where
    S: PartialEq + Clone + Debug + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    #[cfg(feature = "ssr")]
    if let Some(cache) = use_context::<RenderCache>() {
        // The source cannot change during a server render: the resource keeps the value, not the closure (whose
        // signals may belong to a walk that is already gone).
        let value = untrack(&source);
        let key = (std::panic::Location::caller(), format!("{value:?}"));
        return cache.get_or_make(key, || ArcResource::new(move || value.clone(), fetcher)).into();
    }
    Resource::new(source, fetcher)
}

/// `SharedValue::new(make).into_inner()` (a value the server computes and the browser reads from the page),
/// computed and written once per server render.
#[track_caller]
pub fn page_value<T>(make: impl FnOnce() -> T) -> T
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    #[cfg(feature = "ssr")]
    if let Some(cache) = use_context::<RenderCache>() {
        let key = (std::panic::Location::caller(), String::new());
        return cache.get_or_make(key, || leptos::server::SharedValue::new(make).into_inner());
    }
    leptos::server::SharedValue::new(make).into_inner()
}
