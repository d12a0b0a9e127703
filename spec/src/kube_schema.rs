//! Kubernetes-typed values checked against the Kubernetes schema (`k8s-openapi`'s types): which keys the
//! cluster would drop, which values it would refuse. The types' own `Deserialize` impls name their fields
//! (`deserialize_struct(name, fields, …)`), so reading a value through [`Checked`] finds every unknown key with
//! the fields that were possible there, and every value of the wrong type, without stopping at the first.

use std::cell::RefCell;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What reading a value as a Kubernetes type found; paths are relative to the value (`resources.limits`,
/// `ports[0].containerPort`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Finding {
    /// `key` is not a field of the Kubernetes type `of`; `near` is the closest field, if one is close.
    Unknown { path: String, key: String, of: &'static str, near: Option<&'static str> },
    /// The value has the wrong type (`expected`: what Kubernetes reads there).
    Type { path: String, expected: &'static str },
    /// The value could not be read past this point (e.g. a required field is missing).
    Invalid { path: String, message: String },
}

impl Finding {
    pub fn path(&self) -> &str {
        match self {
            Finding::Unknown { path, .. } | Finding::Type { path, .. } | Finding::Invalid { path, .. } => {
                path
            }
        }
    }

    /// Whether the finding is at the value's own level (its own keys), not inside one of them.
    pub fn at_top(&self) -> bool {
        matches!(self, Finding::Unknown { path, key, .. } if path == key)
    }

    pub fn message(&self) -> String {
        match self {
            Finding::Unknown { key, of, near, .. } => {
                let hint = near.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
                format!("`{key}` is not a field of a Kubernetes {of}{hint}: the cluster would drop it")
            }
            Finding::Type { expected, .. } => {
                format!("Kubernetes expects {expected} here: the cluster would refuse it")
            }
            Finding::Invalid { path, message } => {
                format!("`{path}` is not a valid Kubernetes value: {message}")
            }
        }
    }
}

/// Reads `v` as a `T` and returns what the cluster would drop or refuse.
pub(crate) fn check<T: DeserializeOwned>(v: &Value) -> Vec<Finding> {
    let found = RefCell::new(Vec::new());
    let r: Result<T, serde_json::Error> = T::deserialize(Checked { v, path: Trail::Root, found: &found });
    let mut found = found.into_inner();
    if let Err(e) = r {
        let path = found.iter().find_map(failure_path).unwrap_or_default();
        found.retain(|f| !matches!(f, Finding::Invalid { message, .. } if message.is_empty()));
        found.push(Finding::Invalid { path, message: e.to_string() });
    } else {
        found.retain(|f| !matches!(f, Finding::Invalid { message, .. } if message.is_empty()));
    }
    found.sort_by(|a, b| a.path().cmp(b.path()));
    found
}

fn failure_path(f: &Finding) -> Option<String> {
    match f {
        Finding::Invalid { path, message } if message.is_empty() => Some(path.clone()),
        _ => None,
    }
}

/// The closest of `fields` to `key`, if it is close enough to be a typo of it.
pub(crate) fn nearest(key: &str, fields: &[&'static str]) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    fields
        .iter()
        .map(|f| (strsim::damerau_levenshtein(&lower, &f.to_ascii_lowercase()), *f))
        .filter(|(d, f)| *d <= 2.max(f.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

/// Where a value is, kept as links to its parent's place and spelt out (`ports[0].containerPort`) only when
/// something is found there: most values are fine, and a string per value was a tenth of a compile.
#[derive(Clone, Copy)]
enum Trail<'p> {
    Root,
    Key(&'p Trail<'p>, &'p str),
    Index(&'p Trail<'p>, usize),
}

impl Trail<'_> {
    fn spelt(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Trail::Root => {}
            Trail::Key(parent, key) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Trail::Index(parent, i) => {
                parent.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

/// A JSON value read as a Kubernetes type, recording what does not fit instead of failing where it can.
struct Checked<'a, 'p> {
    v: &'a Value,
    path: Trail<'p>,
    found: &'a RefCell<Vec<Finding>>,
}

impl<'a, 'p> Checked<'a, 'p> {
    /// A map's entries; `fields`: a struct's, whose keys may be spelt in snake_case as Polyaxon accepts.
    fn entries(&self, m: &'a serde_json::Map<String, Value>, fields: bool) -> Entries<'a, 'p> {
        Entries { path: self.path, found: self.found, iter: m.iter(), value: None, fields }
    }

    fn items(&self, a: &'a [Value]) -> Items<'a, 'p> {
        Items { path: self.path, found: self.found, iter: a.iter().enumerate() }
    }

    fn wrong(&self, expected: &'static str) {
        self.found.borrow_mut().push(Finding::Type { path: self.path.spelt(), expected });
    }

    /// Marks where a read failed (the innermost first), for the error that ends it.
    fn failed<T>(&self, r: Result<T, serde_json::Error>) -> Result<T, serde_json::Error> {
        if r.is_err() {
            let mut f = self.found.borrow_mut();
            if !f.iter().any(|x| failure_path(x).is_some()) {
                f.push(Finding::Invalid { path: self.path.spelt(), message: String::new() });
            }
        }
        r
    }

    /// A template Polyaxon fills at run time: its type is not known yet.
    fn templated(&self) -> bool {
        crate::render::is_template(self.v)
    }
}

struct Entries<'a, 'p> {
    path: Trail<'p>,
    found: &'a RefCell<Vec<Finding>>,
    iter: serde_json::map::Iter<'a>,
    value: Option<(&'a String, &'a Value)>,
    fields: bool,
}

impl<'de> MapAccess<'de> for Entries<'de, '_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        match self.iter.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.value = Some((k, v));
                if self.fields && k.contains('_') {
                    let camel = crate::pod::camel_key(k);
                    return seed.deserialize(de::value::StringDeserializer::new(camel)).map(Some);
                }
                seed.deserialize(de::value::BorrowedStrDeserializer::new(k)).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        let (k, v) = self.value.take().ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(Checked { v, path: Trail::Key(&self.path, k), found: self.found })
    }
}

struct Items<'a, 'p> {
    path: Trail<'p>,
    found: &'a RefCell<Vec<Finding>>,
    iter: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
}

impl<'de> SeqAccess<'de> for Items<'de, '_> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        match self.iter.next() {
            None => Ok(None),
            Some((i, v)) => seed
                .deserialize(Checked { v, path: Trail::Index(&self.path, i), found: self.found })
                .map(Some),
        }
    }
}

static EMPTY_MAP: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();

fn empty_map() -> &'static serde_json::Map<String, Value> {
    EMPTY_MAP.get_or_init(serde_json::Map::new)
}

macro_rules! int {
    ($method:ident, $visit:ident, $t:ty, $what:literal) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            let n = match self.v {
                Value::Number(n) => n.as_i64().and_then(|n| <$t>::try_from(n).ok()),
                Value::Null => return self.deserialize_any(visitor),
                _ => None,
            };
            if n.is_none() && !self.templated() {
                self.wrong($what);
            }
            let r = visitor.$visit(n.unwrap_or_default());
            self.failed(r)
        }
    };
}

impl<'de> Deserializer<'de> for Checked<'de, '_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let r = match self.v {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (_, Some(i), _) => visitor.visit_i64(i),
                (_, _, f) => visitor.visit_f64(f.unwrap_or_default()),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(a) => visitor.visit_seq(self.items(a)),
            Value::Object(m) => visitor.visit_map(self.entries(m, false)),
        };
        self.failed(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let m = match self.v {
            Value::Object(m) => m,
            _ => {
                self.wrong("a mapping");
                empty_map()
            }
        };
        for (k, v) in m {
            if !v.is_null()
                && !fields.contains(&k.as_str())
                && !fields.contains(&crate::pod::camel_key(k).as_str())
            {
                let path = Trail::Key(&self.path, k).spelt();
                let near = nearest(k, fields);
                self.found.borrow_mut().push(Finding::Unknown { path, key: k.clone(), of: name, near });
            }
        }
        let r = visitor.visit_map(self.entries(m, true));
        self.failed(r)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let m = match self.v {
            Value::Object(m) => m,
            _ => {
                self.wrong("a mapping");
                empty_map()
            }
        };
        let r = visitor.visit_map(self.entries(m, false));
        self.failed(r)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let items: &[Value] = match self.v {
            Value::Array(a) => a,
            _ => {
                self.wrong("a list");
                &[]
            }
        };
        let r = visitor.visit_seq(self.items(items));
        self.failed(r)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.v {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let r = match self.v {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Null => return self.deserialize_any(visitor),
            other => {
                self.wrong("a string");
                visitor.visit_string(other.to_string())
            }
        };
        self.failed(r)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let r = match self.v {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Null => return self.deserialize_any(visitor),
            _ => {
                if !self.templated() {
                    self.wrong("true or false");
                }
                visitor.visit_bool(false)
            }
        };
        self.failed(r)
    }

    int!(deserialize_i8, visit_i8, i8, "an integer");
    int!(deserialize_i16, visit_i16, i16, "an integer");
    int!(deserialize_i32, visit_i32, i32, "an integer");
    int!(deserialize_i64, visit_i64, i64, "an integer");
    int!(deserialize_u8, visit_u8, u8, "a non-negative integer");
    int!(deserialize_u16, visit_u16, u16, "a non-negative integer");
    int!(deserialize_u32, visit_u32, u32, "a non-negative integer");
    int!(deserialize_u64, visit_u64, u64, "a non-negative integer");

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let r = match self.v {
            Value::Number(n) => visitor.visit_f64(n.as_f64().unwrap_or_default()),
            Value::Null => return self.deserialize_any(visitor),
            _ => {
                if !self.templated() {
                    self.wrong("a number");
                }
                visitor.visit_f64(0.0)
            }
        };
        self.failed(r)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let r = de::Deserializer::deserialize_enum(self.v, name, variants, visitor);
        self.failed(r)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

#[cfg(test)]
mod tests;
