//! A large DAG's ops compiled on more than one thread: each op compiles on its own (what it reads from the
//! others is settled before), so the ops are split in contiguous parts, one per thread, and joined back in order.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

use super::Compiler;

/// Fewer items than this per thread are compiled on one: a thread costs about as much as one op.
const MIN_PER_THREAD: usize = 32;
/// More threads than this gain little for one compile and take cores from the server's other requests.
const MAX_THREADS: usize = 4;

/// The threads a compile may use: the machine's cores, up to `MAX_THREADS`; one in the browser. Asked once: the
/// answer reads the cgroup's CPU quota, which took longer than a typical job's compile.
pub(crate) fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        if cfg!(target_arch = "wasm32") {
            return 1;
        }
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get).min(MAX_THREADS)
    })
}

impl<'a> Compiler<'a> {
    /// `each` over `items` in order, as a loop that stops at the first `None` would; on more than one thread when
    /// there are enough items. The first part compiles here; each other part on a thread with a compiler of its
    /// own (the same options and documents, its own diagnostics and templates, one thread), whose diagnostics
    /// join this compiler's in item order — and only while every part before it succeeded, as in the loop.
    pub(crate) fn each_in_parallel<I: Sync, T: Send>(
        &mut self,
        items: &[I],
        each: impl Fn(&mut Compiler<'a>, &I) -> Option<T> + Sync,
    ) -> Option<Vec<T>> {
        let threads = self.threads.min(items.len() / MIN_PER_THREAD);
        if threads <= 1 {
            return items.iter().map(|item| each(self, item)).collect();
        }
        let mut parts = items.chunks(items.len().div_ceil(threads));
        let first = parts.next().unwrap_or_default();
        let (opts, each) = (self.opts, &each);
        std::thread::scope(|scope| {
            let running: Vec<_> = parts
                .map(|part| {
                    let docs = self.docs.clone();
                    scope.spawn(move || {
                        let mut worker = Compiler::new(opts, docs, 1);
                        let out: Option<Vec<T>> = part.iter().map(|item| each(&mut worker, item)).collect();
                        (worker.diags, out)
                    })
                })
                .collect();
            let mut out: Vec<T> = first.iter().map(|item| each(self, item)).collect::<Option<_>>()?;
            for thread in running {
                let (diags, part) = thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                for d in diags.items {
                    self.diags.add(d);
                }
                out.extend(part?);
            }
            Some(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::{compile_on, NoRefs, Options, Source};

    /// A DAG of `n` ops, each warned about (`hooks`) at its own path; the ops in `failing` give their int param a
    /// word.
    fn dag(n: usize, failing: &[usize]) -> String {
        let mut s = String::from("kind: component\nrun:\n  kind: dag\n  operations:\n");
        for i in 0..n {
            let value = if failing.contains(&i) { "abc".to_string() } else { i.to_string() };
            s.push_str(&format!(
                "  - {{name: op{i}, dagRef: step, hooks: [{{connection: slack}}], params: {{i: {{value: {value}}}}}}}\n"
            ));
        }
        s.push_str("  components:\n  - name: step\n    inputs: [{name: i, type: int}]\n    run: {kind: job, container: {image: 'busybox:1.36', command: [echo, '{{ i }}']}}\n");
        s
    }

    fn both(text: &str) -> (serde_json::Value, serde_json::Value) {
        let opts = Options {
            files: vec![Source { name: "dag.yaml".into(), text: text.into() }],
            params: vec![],
            catalog: Default::default(),
            refs: &NoRefs,
            run_uuid: Some("0123456789abcdef0123456789abcdef".into()),
            execution: Default::default(),
            limits: Default::default(),
            policy: None,
        };
        let json = |threads| serde_json::to_value(compile_on(&opts, threads)).expect("serializable");
        (json(1), json(3))
    }

    #[test]
    fn ops_compiled_on_threads_answer_what_one_thread_answers() {
        let (one, three) = both(&dag(200, &[]));
        assert_eq!(one["valid"], true, "{:?}", one["errors"]);
        assert_eq!(one["ops"].as_array().map(Vec::len), Some(200));
        let hooks = |v: &serde_json::Value| {
            v["warnings"].as_array().unwrap().iter().filter(|w| w["code"] == "hooks_not_run").count()
        };
        assert_eq!(hooks(&one), 200, "each op's own warning");
        assert_eq!(one, three);
    }

    #[test]
    fn the_first_failing_op_ends_the_compile_on_threads_too() {
        // One failing op in the last part, then one in the first part as well: one thread stops at the first
        // failure and reports nothing after it; so must the threads.
        for failing in [&[170][..], &[20, 170]] {
            let (one, three) = both(&dag(200, failing));
            assert_eq!(one["valid"], false);
            let paths: Vec<_> = one["errors"].as_array().unwrap().iter().map(|e| e["path"].clone()).collect();
            assert_eq!(paths.len(), 1, "{paths:?}");
            assert!(paths[0].as_str().unwrap().contains(&format!("[{}]", failing[0])), "{paths:?}");
            assert_eq!(one, three);
        }
    }
}
