//! Tests against a real control plane (kube-apiserver, kube-scheduler, kube-controller-manager, etcd) from
//! `scripts/k8s-control-plane up` (`MYELIN_K8S_DIR`, set by scripts/test); required under CI. A kubelet
//! stand-in (`kubelet.rs`) plays the nodes' part: it runs the pods the scheduler binds by changing their
//! status, and serves their logs. Nodes are cluster-wide, so the tests take turns (`support::cluster`).

mod executor;
mod fixture;
mod kubelet;
mod placement;
mod policy;
mod support;
