//! Templates: `{{ ... }}` rendered with minijinja (Polyaxon uses Jinja2), values printed the way Python's
//! `str()` prints them (`True`, `None`, `0.001`, `['a', 1]`), because that is what Polyaxon writes into pods.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value as JValue};
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

mod python;

pub use python::{json_python_str, param_text, python_float, python_str};

/// A string holding a template (`{{ … }}`): Polyaxon fills it in later, so its type is not known yet.
pub(crate) fn is_template(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.contains("{{"))
}

pub struct Renderer {
    /// Compiled templates, keyed by their text and shared by every compile on this thread with the same fuel:
    /// a server compiles the same components again and again, and a DAG's ops often share one.
    shared: Rc<Templates>,
}

struct Templates {
    env: RefCell<Environment<'static>>,
    /// Bytes the compiled templates stand for (their text plus a per-template overhead).
    weight: std::cell::Cell<usize>,
}

/// The weight of templates kept before the environment starts afresh: bounds the memory a stream of distinct
/// files can pin.
const MAX_WEIGHT: usize = 4 << 20;

thread_local! {
    static ENVS: RefCell<Vec<(u64, Rc<Templates>)>> = const { RefCell::new(Vec::new()) };
}

impl Default for Renderer {
    fn default() -> Self {
        Self::with_fuel(crate::limits::Limits::default().template_fuel)
    }
}

impl Renderer {
    /// A renderer whose templates may each take at most `fuel` steps (`limits.template_fuel`).
    pub fn with_fuel(fuel: u64) -> Self {
        let shared = ENVS.with_borrow_mut(|envs| {
            if let Some((_, t)) = envs.iter().find(|(f, t)| *f == fuel && t.weight.get() < MAX_WEIGHT) {
                return t.clone();
            }
            envs.retain(|(f, _)| *f != fuel);
            envs.truncate(3);
            let t = Rc::new(Templates { env: RefCell::new(environment(fuel)), weight: Default::default() });
            envs.push((fuel, t.clone()));
            t
        });
        Self { shared }
    }
}

fn environment(fuel: u64) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(fuel));
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Jinja2's Python methods (`d.items()`, `s.upper()`, `s.split(',')`, …), which polyaxonfiles may use.
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(|out, _state, value| {
        out.write_str(&python_str(value))
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
    });
    env
}

impl Renderer {
    /// Renders one string. Text without `{{`/`{%` is returned as is.
    pub fn render(&self, text: &str, ctx: &Value) -> Result<String, String> {
        if !text.contains("{{") && !text.contains("{%") {
            return Ok(text.to_string());
        }
        self.render_with(text, &JValue::from_serialize(ctx))
    }

    fn render_with(&self, text: &str, ctx: &JValue) -> Result<String, String> {
        if !text.contains("{{") && !text.contains("{%") {
            return Ok(text.to_string());
        }
        let fail = |e: minijinja::Error| format!("{} in `{}`", describe(&e), text.trim());
        // Looked up once when compiled before (the usual case), added then looked up when not.
        if let Ok(tpl) = self.shared.env.borrow().get_template(text) {
            return tpl.render(ctx).map_err(fail);
        }
        let mut env = self.shared.env.borrow_mut();
        env.add_template_owned(text.to_string(), text.to_string()).map_err(fail)?;
        self.shared.weight.set(self.shared.weight.get() + 2 * text.len() + 512);
        let tpl = env.get_template(text).map_err(fail)?;
        tpl.render(ctx).map_err(fail)
    }

    /// Renders every string inside `v`, in place: only strings holding a template change, and templates read
    /// the context lazily (`Lazy`). An error names the relative path of the failing string.
    pub fn render_deep(&self, mut v: Value, ctx: &Arc<Value>) -> Result<Value, (String, String)> {
        let ctx = JValue::from_object(Lazy { root: ctx.clone(), path: Vec::new() });
        self.deep(&mut v, &ctx)?;
        Ok(v)
    }

    fn deep(&self, v: &mut Value, ctx: &JValue) -> Result<(), (String, String)> {
        match v {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                *s = self.render_with(s, ctx).map_err(|e| (String::new(), e))?;
            }
            Value::Array(items) => {
                for (i, x) in items.iter_mut().enumerate() {
                    self.deep(x, ctx).map_err(|(p, e)| (format!("[{i}]{}", dotted(&p)), e))?;
                }
            }
            Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    self.deep(x, ctx).map_err(|(p, e)| (format!("{k}{}", dotted(&p)), e))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The names a template (or, without `{{`, an expression) reads, with the attributes read from them
    /// (`{{ loss < params.max.value }}` reads `loss` and `params.max.value`).
    pub fn reads(&self, text: &str) -> Result<std::collections::HashSet<String>, String> {
        let env = self.shared.env.borrow();
        if text.contains("{{") || text.contains("{%") {
            let t = env.template_from_str(text).map_err(|e| describe(&e))?;
            Ok(t.undeclared_variables(true))
        } else {
            Ok(env.compile_expression(text).map_err(|e| describe(&e))?.undeclared_variables(true))
        }
    }

    /// Evaluates an expression (for `conditions`) to a JSON value.
    pub fn eval(&self, expr: &str, ctx: &Value) -> Result<Value, String> {
        let env = self.shared.env.borrow();
        let e = env.compile_expression(expr).map_err(|e| describe(&e))?;
        let v = e.eval(ctx).map_err(|e| describe(&e))?;
        serde_json::to_value(&v).map_err(|e| e.to_string())
    }
}

/// A JSON object as templates see it: each value is converted for minijinja only when a template reads it, so
/// a context with many params and globals costs little when the templates read two of them.
#[derive(Debug)]
struct Lazy {
    root: Arc<Value>,
    /// Keys from the root to this object.
    path: Vec<String>,
}

impl Lazy {
    fn node(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        let node = self.path.iter().try_fold(&*self.root, |v, k| v.get(k));
        node.and_then(Value::as_object).unwrap_or(&EMPTY)
    }
}

impl Object for Lazy {
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let k = key.as_str()?;
        Some(match self.node().get(k)? {
            Value::Object(_) => {
                let mut path = self.path.clone();
                path.push(k.to_string());
                JValue::from_object(Lazy { root: self.root.clone(), path })
            }
            other => JValue::from_serialize(other),
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.node().keys().map(|k| JValue::from(k.as_str())).collect())
    }
}

fn dotted(p: &str) -> String {
    if p.is_empty() || p.starts_with('[') {
        p.to_string()
    } else {
        format!(".{p}")
    }
}

fn describe(e: &minijinja::Error) -> String {
    match e.kind() {
        minijinja::ErrorKind::UndefinedError => {
            format!("template refers to something undefined ({})", e.detail().unwrap_or("unknown name"))
        }
        minijinja::ErrorKind::OutOfFuel => "template takes too many steps; the limit is template_fuel".into(),
        _ => format!("template error: {}", e.detail().map(str::to_string).unwrap_or_else(|| e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_template_that_runs_too_long_is_stopped_with_the_limit() {
        let r = super::Renderer::with_fuel(10_000);
        let slow = "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}";
        let e = r.render(slow, &serde_json::json!({})).unwrap_err();
        assert!(e.contains("template_fuel"), "{e}");
        assert_eq!(r.render("{{ 1 + 1 }}", &serde_json::json!({})).unwrap(), "2");
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_python() {
        let r = Renderer::default();
        let ctx = json!({"lr": 0.001, "n": 3, "ok": true, "none": null, "l": ["a", 1], "d": {"k": 1.0}, "big": 1e-05});
        assert_eq!(r.render("{{ lr }} {{ n }} {{ ok }} {{ none }}", &ctx).unwrap(), "0.001 3 True None");
        assert_eq!(r.render("{{ l }} {{ d }} {{ big }}", &ctx).unwrap(), "['a', 1] {'k': 1.0} 1e-05");
        assert!(r.render("{{ missing }}", &ctx).unwrap_err().contains("undefined"));
    }

    #[test]
    fn floats_print_as_python_repr() {
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(0.07525), "0.07525");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(-2.5e-7), "-2.5e-07");
    }

    #[test]
    fn json_values_print_as_templates_print_them() {
        let values = json!([0.001, 3, -7, 1.0, 1e16, 2.5e-7, true, null, "it's", "a\\b",
            ["a", 1, [2.0, null]], {"k": 1.0, "n": {"x": "y"}}, {}, []]);
        for v in values.as_array().unwrap() {
            assert_eq!(json_python_str(v), python_str(&JValue::from_serialize(v)), "{v}");
        }
    }

    #[test]
    fn templates_read_the_context_lazily_and_see_all_of_it() {
        let r = Renderer::default();
        let ctx = Arc::new(json!({"globals": {"uuid": "u1", "deep": {"a": [1, 2]}}, "lr": 0.1,
            "params": {"lr": {"value": 0.1, "as_str": "0.1"}}}));
        let v = json!({"args": ["{{ globals.uuid }}", "{{ globals.deep.a[1] }}", "{{ params.lr.value }}",
            "{% for k in params %}{{ k }}{% endfor %}", "{{ globals.deep }}", "{{ params | length }}",
            "{{ globals.deep.a | join(',') }}"]});
        let out = r.render_deep(v, &ctx).unwrap();
        assert_eq!(out, json!({"args": ["u1", "2", "0.1", "lr", "{'a': [1, 2]}", "1", "1,2"]}));
        // Jinja2's Python methods work on lazy maps and on strings.
        let maps = json!([
            "{% for k, v in globals.items() %}{{ k }}{% endfor %}",
            "{{ 'lr' in params }}",
            "{{ params.keys() | list }}",
            "{{ globals.deep.a == [1, 2] }}",
            "{{ params.lr.value * 10 }}",
            "{{ globals.uuid.upper() }}",
            "{{ 'a,b'.split(',') }}"
        ]);
        let out = r.render_deep(maps, &ctx).unwrap();
        assert_eq!(out, json!(["uuiddeep", "True", "['lr']", "True", "1.0", "U1", "['a', 'b']"]));
        let (path, e) = r.render_deep(json!({"x": ["{{ globals.nope }}"]}), &ctx).unwrap_err();
        assert_eq!(path, "x[0]");
        assert!(e.contains("undefined"), "{e}");
    }

    #[test]
    fn compiled_templates_are_shared_across_renderers_within_their_weight() {
        let a = Renderer::with_fuel(77);
        a.render("{{ 1 + 1 }}", &json!({})).unwrap();
        let b = Renderer::with_fuel(77);
        assert!(Rc::ptr_eq(&a.shared, &b.shared));
        assert!(b.shared.env.borrow().get_template("{{ 1 + 1 }}").is_ok());
        // Past the weight, the next renderer starts afresh.
        b.shared.weight.set(MAX_WEIGHT);
        let c = Renderer::with_fuel(77);
        assert!(!Rc::ptr_eq(&b.shared, &c.shared));
        assert!(c.shared.env.borrow().get_template("{{ 1 + 1 }}").is_err());
        // Another fuel limit has environments of its own.
        assert!(!Rc::ptr_eq(&c.shared, &Renderer::with_fuel(78).shared));
    }
}
