use super::*;

#[test]
fn grid_is_the_cartesian_product_in_declaration_order() {
    let m = json!({"kind": "grid", "params": {"a": {"kind": "choice", "value": [1, 2]}, "b": {"kind": "range", "value": "0:3:1"}}});
    let s = suggestions(&m).unwrap();
    assert_eq!(s.len(), 6);
    assert_eq!(Value::Object(s[1].clone()), json!({"a": 1, "b": 1}));
    assert_eq!(Value::Object(s[3].clone()), json!({"a": 2, "b": 0}));
}

#[test]
fn huge_or_degenerate_searches_are_refused_not_allocated() {
    let grid = json!({"kind": "grid", "params": {"a": {"kind": "range", "value": "0:1e12:1"}}});
    assert!(suggestions(&grid).unwrap_err().contains("more than"));
    let product = json!({"kind": "grid", "params": {"a": {"kind": "range", "value": "0:1000:1"}, "b": {"kind": "range", "value": "0:1000:1"}}});
    assert!(suggestions(&product).is_err());
    for huge in [
        json!({"kind": "bayes", "numInitialRuns": 4_000_000_000u64, "maxIterations": 1, "metric": {"name": "l", "optimization": "minimize"}, "params": {"a": {"kind": "uniform", "value": [0, 1]}}}),
        json!({"kind": "tpe", "numRuns": 4_000_000_000u64, "params": {"a": {"kind": "uniform", "value": [0, 1]}}}),
        json!({"kind": "random", "numRuns": 10_001, "params": {"a": {"kind": "uniform", "value": [0, 1]}}}),
    ] {
        let e = suggestions(&huge).unwrap_err();
        assert!(e.contains("10000 runs; the limit is matrix_runs"), "{e}");
    }
    let small_cap = json!({"kind": "grid", "params": {"a": {"kind": "range", "value": "0:5:1"}}});
    assert!(suggestions_within(&small_cap, 4).unwrap_err().contains("more than 4 runs"));
    let reversed =
        json!({"kind": "random", "numRuns": 2, "params": {"a": {"kind": "uniform", "value": [5, 1]}}});
    assert_eq!(suggestions(&reversed).unwrap().len(), 2);
}

#[test]
fn linspace_and_random_are_right_sized() {
    assert_eq!(values("linspace", &json!("0.01:0.1:5")).unwrap().len(), 5);
    let m = json!({"kind": "random", "numRuns": 10, "seed": 1, "params": {"a": {"kind": "choice", "value": [1, 2, 3]}}});
    assert_eq!(suggestions(&m).unwrap().len(), 3, "capped at the size of a discrete space");
    let h = json!({"kind": "hyperband", "maxIterations": 10, "eta": 3, "resource": {"name": "steps", "type": "int"}, "params": {"lr": {"kind": "uniform", "value": [0, 1]}}});
    assert_eq!(suggestions(&h).unwrap().len(), 9);
}
