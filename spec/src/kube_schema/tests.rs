use k8s_openapi::api::core::v1::{Container, Toleration, Volume};
use serde_json::json;

use super::*;

fn messages<T: DeserializeOwned>(v: Value) -> Vec<(String, String)> {
    check::<T>(&v).iter().map(|f| (f.path().to_string(), f.message())).collect()
}

#[test]
fn a_misspelt_container_field_is_found_with_the_field_it_meant() {
    let v = json!({"name": "main", "image": "x", "resourcez": {"limits": {"nvidia.com/gpu": 1}}});
    assert_eq!(
        messages::<Container>(v),
        vec![(
            "resourcez".into(),
            "`resourcez` is not a field of a Kubernetes Container (did you mean `resources`?): the cluster would drop it"
                .into()
        )]
    );
}

#[test]
fn nested_keys_and_types_are_found_and_reading_goes_on_past_them() {
    let v = json!({"name": "main", "image": "x",
        "resources": {"limitz": {"cpu": 1}},
        "ports": [{"containerPort": "http"}, {"containerPort": 80, "protocl": "TCP"}],
        "env": [{"name": "A", "value": 1}]});
    let got = check::<Container>(&v);
    let paths: Vec<&str> = got.iter().map(Finding::path).collect();
    assert_eq!(paths, ["env[0].value", "ports[0].containerPort", "ports[1].protocl", "resources.limitz"]);
    // (sorted by path)
    assert!(got.iter().all(|f| !f.at_top()));
    assert!(got[2].message().contains("did you mean `protocol`?"), "{}", got[2].message());
}

#[test]
fn a_valid_value_has_no_findings_whatever_its_quantities_and_templates() {
    let c = json!({"name": "main", "image": "x", "command": ["a"],
        "resources": {"limits": {"cpu": 1.5, "memory": "1Gi", "nvidia.com/gpu": 1}},
        "ports": [{"containerPort": "{{ params.port }}"}],
        "livenessProbe": {"httpGet": {"port": "http", "path": "/"}},
        "securityContext": {"runAsUser": 1000, "capabilities": {"drop": ["ALL"]}}});
    assert_eq!(messages::<Container>(c), vec![]);
    let v = json!({"name": "data", "persistentVolumeClaim": {"claimName": "c", "readOnly": true}});
    assert_eq!(messages::<Volume>(v), vec![]);
}

#[test]
fn a_scalar_where_a_mapping_belongs_is_reported_where_it_is() {
    let got = check::<Volume>(&json!({"name": "v", "emptyDir": "yes"}));
    assert_eq!(got, [Finding::Type { path: "emptyDir".into(), expected: "a mapping" }]);
}

#[test]
fn snake_case_fields_are_fields_as_polyaxon_reads_them() {
    let v = json!({"name": "main", "image": "x", "volume_mounts": [{"name": "v", "mount_path": "/d"}],
        "resources": {"limits": {"nvidia_gpu": 1}}});
    assert_eq!(messages::<Container>(v), vec![]);
}

#[test]
fn far_off_keys_get_no_suggestion() {
    let got = check::<Toleration>(&json!({"key": "a", "efect": "NoSchedule", "banana": 1}));
    let near: Vec<Option<&str>> = got
        .iter()
        .map(|f| match f {
            Finding::Unknown { near, .. } => *near,
            _ => Some("?"),
        })
        .collect();
    assert_eq!(near, [None, Some("effect")], "banana, then efect");
}
