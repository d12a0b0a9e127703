//! The connections catalog (Polyaxon's agent `connections:` format): what `connections` and `init[].connection`
//! resolve against, and how each kind reaches a pod (secret env, mounted secret, volume claim, host path).

use serde_json::{json, Value};

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    items: Vec<Connection>,
}

#[derive(Debug, Clone)]
pub struct Connection {
    pub name: String,
    pub kind: String,
    pub schema: Value,
    pub secret: Option<Value>,
    pub config_map: Option<Value>,
}

impl Catalog {
    /// From an agent config (`{connections: [...]}`) or a bare list.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let list = match v {
            Value::Null => return Ok(Self::default()),
            Value::Array(a) => a.clone(),
            other => other.get("connections").and_then(Value::as_array).cloned().unwrap_or_default(),
        };
        let items = list
            .iter()
            .map(|c| {
                let name = c.get("name").and_then(Value::as_str).ok_or("every connection needs a `name`")?;
                Ok(Connection {
                    name: name.into(),
                    kind: c.get("kind").and_then(Value::as_str).unwrap_or("custom").into(),
                    schema: c.get("schema").cloned().unwrap_or(Value::Null),
                    secret: c.get("secret").cloned().filter(|v| !v.is_null()),
                    config_map: c.get("configMap").cloned().filter(|v| !v.is_null()),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { items })
    }

    pub fn get(&self, name: &str) -> Option<&Connection> {
        self.items.iter().find(|c| c.name == name)
    }

    /// `connections[NAME]` in templates: the schema's fields plus `name`/`kind`.
    pub fn template_context(&self) -> Value {
        let mut m = serde_json::Map::new();
        for c in &self.items {
            let mut v = match &c.schema {
                Value::Object(o) => o.clone(),
                _ => serde_json::Map::new(),
            };
            v.insert("name".into(), json!(c.name));
            v.insert("kind".into(), json!(c.kind));
            m.insert(c.name.clone(), Value::Object(v));
        }
        Value::Object(m)
    }
}

impl Connection {
    fn volume_name(&self) -> String {
        format!("conn-{}", self.name.to_lowercase().replace(['_', '.'], "-"))
    }

    /// Adds what the main container needs to use this connection.
    pub fn attach(&self, volumes: &mut Vec<Value>, mounts: &mut Vec<Value>, env_from: &mut Vec<Value>) {
        match self.kind.as_str() {
            "volume_claim" => {
                let read_only = self.schema["readOnly"].as_bool().unwrap_or(false);
                volumes.push(json!({"name": self.volume_name(), "persistentVolumeClaim": {"claimName": self.schema["volumeClaim"], "readOnly": read_only}}));
                mounts.push(json!({"name": self.volume_name(), "mountPath": self.schema["mountPath"], "readOnly": read_only}));
            }
            "host_path" => {
                let read_only = self.schema["readOnly"].as_bool().unwrap_or(false);
                volumes
                    .push(json!({"name": self.volume_name(), "hostPath": {"path": self.schema["hostPath"]}}));
                mounts.push(json!({"name": self.volume_name(), "mountPath": self.schema["mountPath"], "readOnly": read_only}));
            }
            _ => {}
        }
        for (source, key, env_key) in
            [(&self.secret, "secret", "secretRef"), (&self.config_map, "configMap", "configMapRef")]
        {
            let Some(s) = source else { continue };
            let Some(name) = s.get("name").and_then(Value::as_str) else { continue };
            match s.get("mountPath").and_then(Value::as_str) {
                Some(path) => {
                    let vol = format!("{}-{key}", self.volume_name()).to_lowercase();
                    let src =
                        if key == "secret" { json!({"secretName": name}) } else { json!({"name": name}) };
                    volumes.push(json!({"name": vol, key: src}));
                    mounts.push(json!({"name": vol, "mountPath": path, "readOnly": true}));
                }
                None => env_from.push(json!({env_key: {"name": name}})),
            }
        }
    }
}
