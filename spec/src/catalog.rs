//! The connections catalog (Polyaxon's agent `connections:` format): what `connections` and `init[].connection`
//! resolve against, and how each kind reaches a pod (secret env, mounted secret, volume claim, host path).

use serde_json::{json, Value};

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    items: Vec<Connection>,
    /// Connections that exist but are not granted to the project this catalog was narrowed to.
    withheld: Vec<String>,
    /// The namespaces runs may ask for (`namespace:`): the agent config's `namespace` and
    /// `additionalNamespaces`, or the server's `--namespace`. Empty: not known here.
    namespaces: Vec<String>,
}

/// Names a project's granted connections bring into pods.
#[derive(Debug, Clone, Default)]
pub struct GrantedRefs {
    pub volumes: Vec<String>,
    pub secrets: Vec<String>,
    pub config_maps: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Connection {
    pub name: String,
    pub kind: String,
    pub schema: Value,
    pub secret: Option<Value>,
    pub config_map: Option<Value>,
    /// Myelin's grant (`projects:`): which projects may use it, as `owner/name`, `owner/*` or `*`. None given:
    /// no project (a server uses only granted connections; `myelin compile` ignores grants).
    pub projects: Vec<String>,
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
                    projects: match c.get("projects") {
                        None | Some(Value::Null) => vec![],
                        Some(Value::Array(list)) => list
                            .iter()
                            .map(|p| {
                                p.as_str().map(str::to_string).ok_or("`projects` lists `owner/name` strings")
                            })
                            .collect::<Result<_, _>>()?,
                        Some(_) => {
                            return Err(format!("connection `{name}`: `projects` is a list of `owner/name`"))
                        }
                    },
                })
            })
            .collect::<Result<_, String>>()?;
        let namespaces = [v.get("namespace")]
            .into_iter()
            .flatten()
            .chain(v.get("additionalNamespaces").and_then(Value::as_array).into_iter().flatten())
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        Ok(Self { items, withheld: vec![], namespaces })
    }

    /// Runs may also ask for `namespace` (the server's own).
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        if !self.namespaces.iter().any(|n| n == namespace) {
            self.namespaces.push(namespace.to_string());
        }
        self
    }

    /// The namespaces runs may ask for; empty when not known.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// What project `owner/name` may use: the connections granted to it; the others are withheld (named in
    /// errors, never attached).
    pub fn for_project(&self, path: &str) -> Catalog {
        let (items, withheld): (Vec<_>, Vec<_>) =
            self.items.iter().cloned().partition(|c| c.granted_to(path));
        Catalog {
            items,
            withheld: withheld.into_iter().map(|c| c.name).collect(),
            namespaces: self.namespaces.clone(),
        }
    }

    /// What this catalog's connections put into pods (volume names, Secret and ConfigMap names): the pod
    /// policy lets these through.
    pub fn granted_refs(&self) -> GrantedRefs {
        let mut g = GrantedRefs::default();
        for c in &self.items {
            g.volumes.push(c.volume_name());
            for key in ["secret", "configMap"] {
                g.volumes.push(format!("{}-{key}", c.volume_name()).to_lowercase());
            }
            if let Some(n) = c.secret.as_ref().and_then(|s| s.get("name")).and_then(Value::as_str) {
                g.secrets.push(n.into());
            }
            if let Some(n) = c.config_map.as_ref().and_then(|s| s.get("name")).and_then(Value::as_str) {
                g.config_maps.push(n.into());
            }
        }
        g
    }

    /// Whether `name` exists but is not granted to this catalog's project.
    pub fn is_withheld(&self, name: &str) -> bool {
        self.withheld.iter().any(|w| w == name)
    }

    /// Connections no project may use (no `projects:`), for the server's start-up log.
    pub fn ungranted(&self) -> Vec<&str> {
        self.items.iter().filter(|c| c.projects.is_empty()).map(|c| c.name.as_str()).collect()
    }

    /// Why `name` cannot be used here.
    pub fn missing(&self, name: &str) -> String {
        if self.is_withheld(name) {
            format!("connection `{name}` is not granted to this project (the operator grants it with `projects:` in the connections catalog)")
        } else {
            format!("connection `{name}` is not in the connections catalog")
        }
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
    /// Whether project `owner/name` may use this connection.
    pub fn granted_to(&self, path: &str) -> bool {
        let owner = path.split('/').next().unwrap_or_default();
        self.projects.iter().any(|g| g == "*" || g == path || g.strip_suffix("/*") == Some(owner))
    }

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

#[cfg(test)]
mod grant_tests {
    use serde_json::json;

    #[test]
    fn a_project_sees_only_the_connections_granted_to_it() {
        let c = super::Catalog::from_value(&json!({"connections": [
            {"name": "team-s3", "kind": "s3", "projects": ["ann/vision", "bob/*"]},
            {"name": "open", "kind": "git", "projects": ["*"]},
            {"name": "nobody", "kind": "s3"},
        ]}))
        .unwrap();
        assert_eq!(c.ungranted(), ["nobody"]);
        let ann = c.for_project("ann/vision");
        assert!(ann.get("team-s3").is_some() && ann.get("open").is_some() && ann.get("nobody").is_none());
        let bob = c.for_project("bob/anything");
        assert!(bob.get("team-s3").is_some());
        let eve = c.for_project("eve/vision");
        assert!(eve.get("team-s3").is_none() && eve.get("open").is_some());
        assert!(eve.missing("team-s3").contains("not granted to this project"), "{}", eve.missing("team-s3"));
        assert!(eve.missing("absent").contains("not in the connections catalog"));
        assert!(eve.template_context().get("team-s3").is_none(), "templates see granted connections only");
        assert!(super::Catalog::from_value(&json!([{"name": "x", "projects": "ann/p"}])).is_err());
    }
}
