//! The pod policy a server enforces on what members submit: by default the Kubernetes Pod Security Standard
//! *baseline* (no privileged containers, host namespaces, hostPath volumes, host ports, added capabilities
//! beyond baseline's list, unmasked `/proc`, unconfined seccomp, custom SELinux users or roles, unsafe sysctls),
//! plus Myelin's own rules: no `nodeName`, `serviceAccountName` only from an allowlist, and Secrets and
//! ConfigMaps only through connections granted to the project. *restricted* adds what that profile demands.
//! Each violation is a located `policy_violation` error naming its rule.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::Catalog;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Anything goes (an operator's explicit choice for a project).
    Privileged,
    #[default]
    Baseline,
    Restricted,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "privileged" => Some(Profile::Privileged),
            "baseline" => Some(Profile::Baseline),
            "restricted" => Some(Profile::Restricted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Privileged => "privileged",
            Profile::Baseline => "baseline",
            Profile::Restricted => "restricted",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub profile: Profile,
    /// Service accounts runs may name (none: runs use the namespace's default).
    pub service_accounts: Vec<String>,
}

/// One broken rule: where in the pod spec, which rule, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where in the polyaxonfile's `run` the field is written (`container.securityContext.privileged`).
    pub run_path: String,
    pub rule: &'static str,
    pub message: String,
}

/// Capabilities baseline lets a container add.
const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
/// Sysctls baseline allows.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
/// Volume sources restricted allows.
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// What a pod spec (as compiled) breaks. `catalog` is the project's: Secrets, ConfigMaps and volumes its
/// granted connections bring are allowed.
pub fn check(pod: &Value, policy: &Policy, catalog: &Catalog) -> Vec<Violation> {
    let mut out = Vec::new();
    if policy.profile == Profile::Privileged {
        return out;
    }
    let allowed = catalog.granted_refs();
    let mut v = |run_path: String, rule: &'static str, message: String| {
        out.push(Violation { run_path, rule, message })
    };
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod[key] == true {
            v(
                format!("environment.{key}"),
                "host_namespaces",
                format!("`{key}: true` shares the node's namespace"),
            );
        }
    }
    if pod.get("nodeName").is_some_and(|n| !n.is_null()) {
        v(
            "environment.nodeName".into(),
            "node_name",
            "`nodeName` bypasses the scheduler; use nodeSelector or affinity".into(),
        );
    }
    if let Some(sa) = pod["serviceAccountName"].as_str() {
        if !policy.service_accounts.iter().any(|a| a == sa) {
            v(
                "environment.serviceAccountName".into(),
                "service_account",
                format!(
                    "service account `{sa}` is not one the operator allows ({})",
                    list(&policy.service_accounts)
                ),
            );
        }
    }
    check_security_context(&pod["securityContext"], "environment.securityContext", policy, &mut v, true);
    for sysctl in pod["securityContext"]["sysctls"].as_array().into_iter().flatten() {
        let name = sysctl["name"].as_str().unwrap_or_default();
        if !SAFE_SYSCTLS.contains(&name) {
            v(
                "environment.securityContext.sysctls".into(),
                "sysctls",
                format!("sysctl `{name}` is not a safe one"),
            );
        }
    }
    for (i, vol) in pod["volumes"].as_array().into_iter().flatten().enumerate() {
        let name = vol["name"].as_str().unwrap_or_default();
        if allowed.volumes.iter().any(|n| n == name) {
            continue; // a granted connection's
        }
        let at = format!("volumes[{i}]");
        if vol.get("hostPath").is_some() {
            v(at.clone(), "host_path", format!("volume `{name}` mounts a path of the node (hostPath)"));
        }
        if let Some(s) = vol["secret"]["secretName"].as_str() {
            v(
                at.clone(),
                "secret_ref",
                format!("volume `{name}` mounts Secret `{s}`: use a connection granted to the project"),
            );
        }
        if let Some(c) = vol["configMap"]["name"].as_str() {
            v(
                at.clone(),
                "config_map_ref",
                format!("volume `{name}` mounts ConfigMap `{c}`: use a connection granted to the project"),
            );
        }
        if policy.profile == Profile::Restricted
            && !vol
                .as_object()
                .into_iter()
                .flatten()
                .any(|(k, _)| k == "name" || RESTRICTED_VOLUMES.contains(&k.as_str()))
        {
            v(at, "volume_types", format!("volume `{name}` is of a type restricted pods may not use"));
        }
    }
    let groups =
        [("containers", "container"), ("initContainers", "init"), ("ephemeralContainers", "sidecars")];
    for (key, place) in groups {
        for c in pod[key].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or_default();
            let at = if name == "main" { "container".to_string() } else { format!("{place}.{name}") };
            check_security_context(
                &c["securityContext"],
                &format!("{at}.securityContext"),
                policy,
                &mut v,
                false,
            );
            for p in c["ports"].as_array().into_iter().flatten() {
                if p["hostPort"].as_u64().unwrap_or(0) != 0 {
                    v(
                        format!("{at}.ports"),
                        "host_ports",
                        format!("container `{name}` asks for host port {}", p["hostPort"]),
                    );
                }
            }
            for e in c["env"].as_array().into_iter().flatten() {
                for (ref_key, kind, rule) in [
                    ("secretKeyRef", "Secret", "secret_ref"),
                    ("configMapKeyRef", "ConfigMap", "config_map_ref"),
                ] {
                    if let Some(obj) = e["valueFrom"][ref_key]["name"].as_str() {
                        let ok = if kind == "Secret" { &allowed.secrets } else { &allowed.config_maps };
                        if !ok.iter().any(|s| s == obj) {
                            v(
                                format!("{at}.env"),
                                rule,
                                format!(
                                    "`{}` reads {kind} `{obj}`: use a connection granted to the project",
                                    e["name"].as_str().unwrap_or("?")
                                ),
                            );
                        }
                    }
                }
            }
            for e in c["envFrom"].as_array().into_iter().flatten() {
                for (ref_key, kind, rule) in
                    [("secretRef", "Secret", "secret_ref"), ("configMapRef", "ConfigMap", "config_map_ref")]
                {
                    if let Some(obj) = e[ref_key]["name"].as_str() {
                        let ok = if kind == "Secret" { &allowed.secrets } else { &allowed.config_maps };
                        if !ok.iter().any(|s| s == obj) {
                            v(format!("{at}.envFrom"), rule, format!("container `{name}` loads {kind} `{obj}`: use a connection granted to the project"));
                        }
                    }
                }
            }
        }
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn check_security_context(
    sc: &Value,
    at: &str,
    policy: &Policy,
    v: &mut impl FnMut(String, &'static str, String),
    pod_level: bool,
) {
    if sc.is_null() && (pod_level || policy.profile != Profile::Restricted) {
        return;
    }
    if sc["privileged"] == true {
        v(format!("{at}.privileged"), "privileged", "privileged containers are not allowed".into());
    }
    for cap in sc["capabilities"]["add"].as_array().into_iter().flatten() {
        let cap = cap.as_str().unwrap_or_default();
        let ok = if policy.profile == Profile::Restricted {
            cap == "NET_BIND_SERVICE"
        } else {
            BASELINE_CAPS.contains(&cap)
        };
        if !ok {
            v(
                format!("{at}.capabilities.add"),
                "capabilities",
                format!("adding capability `{cap}` is not allowed"),
            );
        }
    }
    if sc["procMount"].as_str().is_some_and(|p| p != "Default") {
        v(format!("{at}.procMount"), "proc_mount", "only the default (masked) /proc mount is allowed".into());
    }
    if sc["seccompProfile"]["type"] == "Unconfined" {
        v(format!("{at}.seccompProfile"), "seccomp", "an unconfined seccomp profile is not allowed".into());
    }
    let se = &sc["seLinuxOptions"];
    if se.get("user").is_some_and(|u| !u.is_null()) || se.get("role").is_some_and(|r| !r.is_null()) {
        v(format!("{at}.seLinuxOptions"), "selinux", "custom SELinux users and roles are not allowed".into());
    }
    if let Some(t) = se["type"].as_str() {
        if !["container_t", "container_init_t", "container_kvm_t", "container_engine_t", ""].contains(&t) {
            v(format!("{at}.seLinuxOptions.type"), "selinux", format!("SELinux type `{t}` is not allowed"));
        }
    }
    if policy.profile == Profile::Restricted && !pod_level {
        if sc["allowPrivilegeEscalation"] != false {
            v(
                format!("{at}.allowPrivilegeEscalation"),
                "privilege_escalation",
                "restricted pods set `allowPrivilegeEscalation: false`".into(),
            );
        }
        let drops_all = sc["capabilities"]["drop"].as_array().is_some_and(|d| d.iter().any(|x| x == "ALL"));
        if !drops_all {
            v(
                format!("{at}.capabilities.drop"),
                "capabilities",
                "restricted pods drop ALL capabilities".into(),
            );
        }
        if sc["runAsNonRoot"] != true {
            v(
                format!("{at}.runAsNonRoot"),
                "run_as_non_root",
                "restricted pods set `runAsNonRoot: true`".into(),
            );
        }
        if !matches!(sc["seccompProfile"]["type"].as_str(), Some("RuntimeDefault" | "Localhost")) {
            v(
                format!("{at}.seccompProfile"),
                "seccomp",
                "restricted pods use the RuntimeDefault seccomp profile".into(),
            );
        }
    }
    if sc["runAsUser"] == 0 && policy.profile == Profile::Restricted {
        v(format!("{at}.runAsUser"), "run_as_non_root", "restricted pods may not run as uid 0".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(pod: Value, policy: &Policy, catalog: &Catalog) -> Vec<&'static str> {
        check(&pod, policy, catalog).into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn baseline_refuses_what_the_pod_security_standard_refuses() {
        let p = Policy::default();
        let none = Catalog::default();
        let main = |sc: Value| json!({"containers": [{"name": "main", "image": "x", "securityContext": sc}]});
        assert_eq!(rules(main(json!({"privileged": true})), &p, &none), ["privileged"]);
        assert_eq!(rules(main(json!({"capabilities": {"add": ["SYS_ADMIN"]}})), &p, &none), ["capabilities"]);
        assert!(rules(main(json!({"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"]}})), &p, &none)
            .is_empty());
        assert_eq!(rules(main(json!({"seccompProfile": {"type": "Unconfined"}})), &p, &none), ["seccomp"]);
        assert_eq!(rules(main(json!({"procMount": "Unmasked"})), &p, &none), ["proc_mount"]);
        let pod = json!({"hostNetwork": true, "hostPID": true, "nodeName": "gpu-1", "serviceAccountName": "admin",
            "containers": [{"name": "main", "ports": [{"containerPort": 80, "hostPort": 80}]}],
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}]});
        assert_eq!(
            rules(pod, &p, &none),
            ["host_namespaces", "host_namespaces", "node_name", "service_account", "host_path", "host_ports"]
        );
        let allowed = Policy { service_accounts: vec!["trainer".into()], ..Default::default() };
        assert!(rules(json!({"serviceAccountName": "trainer", "containers": []}), &allowed, &none).is_empty());
        assert!(rules(
            main(json!({"privileged": true})),
            &Policy { profile: Profile::Privileged, ..Default::default() },
            &none
        )
        .is_empty());
    }

    #[test]
    fn secrets_and_config_maps_come_only_through_granted_connections() {
        let p = Policy::default();
        let catalog = Catalog::from_value(&json!([
            {"name": "s3", "kind": "s3", "secret": {"name": "aws"}, "projects": ["*"]},
            {"name": "data", "kind": "host_path", "schema": {"hostPath": "/data", "mountPath": "/data"}, "projects": ["*"]},
        ]))
        .unwrap()
        .for_project("ann/p");
        let pod = json!({
            "containers": [{"name": "main", "envFrom": [{"secretRef": {"name": "aws"}}, {"secretRef": {"name": "prod-db"}}],
                "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "github", "key": "t"}}}]}],
            "volumes": [{"name": "conn-data", "hostPath": {"path": "/data"}}, {"name": "cfg", "configMap": {"name": "x"}}]});
        let found = check(&pod, &p, &catalog);
        let messages: Vec<String> = found.iter().map(|v| format!("{} {}", v.rule, v.message)).collect();
        assert_eq!(
            found.iter().map(|v| v.rule).collect::<Vec<_>>(),
            ["config_map_ref", "secret_ref", "secret_ref"],
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("github")) && messages.iter().any(|m| m.contains("prod-db"))
        );
        assert_eq!(found[1].run_path, "container.env");
    }

    #[test]
    fn restricted_asks_for_more() {
        let p = Policy { profile: Profile::Restricted, ..Default::default() };
        let plain = json!({"containers": [{"name": "main", "image": "x"}]});
        let got = rules(plain, &p, &Catalog::default());
        for rule in ["privilege_escalation", "capabilities", "run_as_non_root", "seccomp"] {
            assert!(got.contains(&rule), "{rule} missing from {got:?}");
        }
        let hardened = json!({"containers": [{"name": "main", "securityContext": {"allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}}]});
        assert!(rules(hardened, &p, &Catalog::default()).is_empty());
    }
}
