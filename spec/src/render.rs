//! Templates: `{{ ... }}` rendered with minijinja (Polyaxon uses Jinja2), values printed the way Python's
//! `str()` prints them (`True`, `None`, `0.001`, `['a', 1]`), because that is what Polyaxon writes into pods.

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

pub struct Renderer {
    /// Templates are compiled once per distinct text (a DAG's ops often share a component).
    env: std::cell::RefCell<Environment<'static>>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::with_fuel(crate::limits::Limits::default().template_fuel)
    }
}

impl Renderer {
    /// A renderer whose templates may each take at most `fuel` steps (`limits.template_fuel`).
    pub fn with_fuel(fuel: u64) -> Self {
        let mut env = Environment::new();
        env.set_fuel(Some(fuel));
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(|out, _state, value| {
            out.write_str(&python_str(value))
                .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
        });
        Self { env: std::cell::RefCell::new(env) }
    }
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
        let mut env = self.env.borrow_mut();
        if env.get_template(text).is_err() {
            env.add_template_owned(text.to_string(), text.to_string()).map_err(fail)?;
        }
        let tpl = env.get_template(text).map_err(fail)?;
        tpl.render(ctx).map_err(fail)
    }

    /// Renders every string inside `v`, in place: only strings holding a template change, and the context is
    /// converted once, when the first one is met. An error names the relative path of the failing string.
    pub fn render_deep(&self, mut v: Value, ctx: &Value) -> Result<Value, (String, String)> {
        self.deep(&mut v, &Context { json: ctx, converted: std::cell::OnceCell::new() })?;
        Ok(v)
    }

    fn deep(&self, v: &mut Value, ctx: &Context) -> Result<(), (String, String)> {
        match v {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                *s = self.render_with(s, ctx.get()).map_err(|e| (String::new(), e))?;
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

    /// Evaluates an expression (for `conditions`) to a JSON value.
    pub fn eval(&self, expr: &str, ctx: &Value) -> Result<Value, String> {
        let env = self.env.borrow();
        let e = env.compile_expression(expr).map_err(|e| describe(&e))?;
        let v = e.eval(ctx).map_err(|e| describe(&e))?;
        serde_json::to_value(&v).map_err(|e| e.to_string())
    }
}

/// A template context, converted for minijinja when first needed.
struct Context<'a> {
    json: &'a Value,
    converted: std::cell::OnceCell<JValue>,
}

impl Context<'_> {
    fn get(&self) -> &JValue {
        self.converted.get_or_init(|| JValue::from_serialize(self.json))
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

/// Python's `str()` of a value.
pub fn python_str(v: &JValue) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        _ => python_repr(v, false),
    }
}

fn python_repr(v: &JValue, quote: bool) -> String {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => match f64::try_from(v.clone()) {
            Ok(f) if v.as_i64().is_none() => python_float(f),
            _ => v.to_string(),
        },
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            if quote {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            } else {
                s.to_string()
            }
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> =
                v.try_iter().map(|it| it.map(|x| python_repr(&x, true)).collect()).unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let mut parts = Vec::new();
            if let Ok(keys) = v.try_iter() {
                for k in keys {
                    let val = v.get_item(&k).unwrap_or_default();
                    parts.push(format!("{}: {}", python_repr(&k, true), python_repr(&val, true)));
                }
            }
            format!("{{{}}}", parts.join(", "))
        }
        _ => v.to_string(),
    }
}

/// `repr(float)`: shortest round-trip digits, `.0` on integral values, exponent outside [1e-4, 1e16).
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Python's `str()` of a JSON value.
pub fn json_python_str(v: &Value) -> String {
    python_str(&JValue::from_serialize(v))
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
}
