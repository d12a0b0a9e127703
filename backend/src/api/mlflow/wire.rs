//! MLflow's JSON (protobuf's JSON mapping): 64-bit integers may arrive as strings, doubles as `"NaN"` or
//! `"Infinity"`; repeated query parameters may be one string or a list.

use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::hex;
use crate::entities::run;
use crate::services::tracking::search::mlflow_status;
use crate::services::tracking::{RunData, RUN_NAME_TAG};

fn num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Option::<Value>::deserialize(d)
}

pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match num(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expected an integer")),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an integer"))),
        Some(other) => Err(serde::de::Error::custom(format!("expected an integer, got {other}"))),
    }
}

pub fn f64_any<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match num(d)? {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| serde::de::Error::custom("expected a number")),
        Some(Value::String(s)) => match s.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => {
                other.parse().map_err(|_| serde::de::Error::custom(format!("{other:?} is not a number")))
            }
        },
        _ => Err(serde::de::Error::custom("a metric needs a numeric value")),
    }
}

pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match num(d)? {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(a)) => Ok(a.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
        Some(other) => Err(serde::de::Error::custom(format!("expected a list of strings, got {other}"))),
    }
}

/// One metric point as MLflow writes it.
#[derive(serde::Serialize)]
pub struct Metric<'a> {
    pub key: &'a str,
    #[serde(serialize_with = "ser_double")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<&'a str>,
}

impl<'a> Metric<'a> {
    pub fn of(key: &'a str, s: &crate::services::tracking::history::Sample, run_id: Option<&'a str>) -> Self {
        Metric { key, value: s.value, timestamp: s.timestamp, step: s.step, run_id }
    }
}

#[derive(serde::Serialize)]
pub struct Metrics<'a> {
    pub metrics: Vec<Metric<'a>>,
}

fn ser_double<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    match double(Some(*v)) {
        Value::String(t) => s.serialize_str(&t),
        _ => s.serialize_f64(*v),
    }
}

/// A double as protobuf's JSON writes it.
pub fn double(v: Option<f64>) -> Value {
    match v {
        None => json!("NaN"),
        Some(f) if f.is_nan() => json!("NaN"),
        Some(f) if f == f64::INFINITY => json!("Infinity"),
        Some(f) if f == f64::NEG_INFINITY => json!("-Infinity"),
        Some(f) => json!(f),
    }
}

pub fn millis(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// A project as an MLflow experiment: `owner/name`, its description as the `mlflow.note.content` tag, then its tags.
pub fn experiment(p: &crate::entities::project::Model, owner: &str, tags: &[(String, String)]) -> Value {
    let mut all = vec![json!({"key": crate::services::project_tags::NOTE, "value": p.description})];
    all.extend(tags.iter().map(|(k, v)| json!({"key": k, "value": v})));
    json!({
        "experiment_id": hex(p.id),
        "name": format!("{owner}/{}", p.name),
        "artifact_location": format!("mlflow-artifacts:/{}", hex(p.id)),
        "lifecycle_stage": if p.deleted_at.is_some() { "deleted" } else { "active" },
        "creation_time": millis(p.created_at),
        "last_update_time": millis(p.updated_at),
        "tags": all,
    })
}

pub fn run_info(r: &run::Info, username: &str) -> Value {
    let mut info = json!({
        "run_id": hex(r.id),
        "run_uuid": hex(r.id),
        "run_name": r.name,
        "experiment_id": hex(r.project_id),
        "user_id": username,
        "status": mlflow_status(&r.status),
        "start_time": millis(r.started_at.unwrap_or(r.created_at)),
        "artifact_uri": format!("mlflow-artifacts:/{}/{}/artifacts", hex(r.project_id), hex(r.id)),
        "lifecycle_stage": if r.deleted_at.is_some() { "deleted" } else { "active" },
    });
    if let Some(end) = r.finished_at {
        info["end_time"] = json!(millis(end));
    }
    info
}

pub fn run(r: &run::Info, username: &str, data: &RunData) -> Value {
    let metrics: Vec<Value> = data
        .metrics
        .iter()
        .map(|m| json!({"key": m.key, "value": double(m.last), "timestamp": m.timestamp, "step": m.step}))
        .collect();
    let params: Vec<Value> = data.params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    let mut tags: Vec<Value> = data
        .tags
        .iter()
        .filter(|(k, _)| k.as_str() != RUN_NAME_TAG)
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    tags.push(json!({"key": RUN_NAME_TAG, "value": r.name}));
    tags.push(json!({"key": "myelin.kind", "value": r.kind}));
    json!({
        "info": run_info(r, username),
        "data": {"metrics": metrics, "params": params, "tags": tags},
        "inputs": {"dataset_inputs": r.inputs.clone().unwrap_or_else(|| json!([]))},
    })
}
