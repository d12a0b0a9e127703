//! Data that a part of a page loads in the browser once the page has hydrated: `None` on the server and while
//! hydrating, so both draw the same thing, then the answer.
//!
//! Parts drawn inside another part's `Suspend` (the run page's logs, files, charts and pipeline graph: the run
//! page itself sits inside the project's `Suspend`) cannot have a `Suspense` of their own: the server renders
//! that inner boundary resolved or as its fallback, while the browser, whose data for it is not there
//! synchronously, hydrates it expecting the markers of a boundary still loading; hydration fails ("expected a
//! marker node") and the page's buttons do nothing. A `LocalResource` read there would make the *outer*
//! `Suspense` give up on the server instead. A signal filled by an effect (effects run only in the browser) is
//! invisible to both.

use std::future::Future;

use leptos::prelude::*;

/// The loaded value (`None` until the first answer) and a way to load it again.
pub struct BrowserData<T: Send + Sync + 'static> {
    pub value: RwSignal<Option<T>>,
    again: RwSignal<u64>,
}

impl<T: Send + Sync + 'static> Clone for BrowserData<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for BrowserData<T> {}

impl<T: Send + Sync + 'static> BrowserData<T> {
    /// Loads `fetch()` after hydration, and again whenever a signal it reads (before its first `.await`) changes.
    pub fn new<Fut>(fetch: impl Fn() -> Fut + 'static) -> Self
    where
        Fut: Future<Output = T> + 'static,
    {
        let value = RwSignal::new(None);
        let again = RwSignal::new(0u64);
        #[cfg(feature = "hydrate")]
        Effect::new(move |_| {
            again.track();
            let pending = fetch();
            leptos::task::spawn_local(async move {
                let v = pending.await;
                // The page may be gone by now.
                value.try_set(Some(v));
            });
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = fetch;
        BrowserData { value, again }
    }

    pub fn get(&self) -> Option<T>
    where
        T: Clone,
    {
        self.value.get()
    }

    pub fn reload(&self) {
        self.again.try_update(|n| *n += 1);
    }

    /// Reloads every `ms` milliseconds while `active()` holds.
    pub fn poll(self, ms: u64, active: impl Fn() -> bool + Copy + 'static) {
        every(ms, move || {
            if active() {
                self.reload();
            }
        });
    }
}

/// Calls `tick` every `ms` milliseconds in the browser, until the part of the page that asked goes away.
pub fn every(ms: u64, tick: impl Fn() + Copy + 'static) {
    Effect::new(move |_| {
        if let Ok(h) = set_interval_with_handle(tick, std::time::Duration::from_millis(ms)) {
            on_cleanup(move || h.clear());
        }
    });
}
