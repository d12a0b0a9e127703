"""The real `mlflow` client against Myelin: everything a training script does, read back exactly.

Env: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN (an API token of the user `MYELIN_USER`).
"""
import math
import os
import tempfile

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

# Every temporary directory below lives in this one, removed when the script ends.
_TMP = tempfile.TemporaryDirectory()

user = os.environ["MYELIN_USER"]
exp_id = mlflow.set_experiment("tracking-demo").experiment_id
assert mlflow.get_experiment_by_name(f"{user}/tracking-demo").experiment_id == exp_id

# Experiment tags: set, read back (get, by name, search by name), replaced, deleted; the note is the description.
mlflow.set_experiment_tag("team", "vision")
mlflow.set_experiment_tags({"stage": "dev", "team": "vision-2"})
MlflowClient().set_experiment_tag(exp_id, "mlflow.note.content", "digits, from scratch")
tags = mlflow.get_experiment(exp_id).tags
assert tags["team"] == "vision-2" and tags["stage"] == "dev", tags
assert tags["mlflow.note.content"] == "digits, from scratch", tags
MlflowClient().delete_experiment_tag(exp_id, "stage")
assert "stage" not in mlflow.get_experiment_by_name(f"{user}/tracking-demo").tags
found = mlflow.search_experiments(filter_string="name LIKE '%tracking-demo'")
assert [e.experiment_id for e in found] == [exp_id] and found[0].tags["team"] == "vision-2", found
tagged = MlflowClient().create_experiment("tagged-demo", tags={"owner": "ml-team"})
assert mlflow.get_experiment(tagged).tags["owner"] == "ml-team"
by_tag = mlflow.search_experiments(filter_string="tags.owner = 'ml-team'")
assert [e.experiment_id for e in by_tag] == [tagged], by_tag

with mlflow.start_run(run_name="baseline", tags={"team": "vision"}) as run:
    mlflow.log_param("lr", 0.01)
    mlflow.log_params({"epochs": 3, "optimizer": "adam"})
    for step in range(50):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"acc": 0.75, "weird": float("nan"), "big": float("inf")}, step=7)
    mlflow.set_tag("stage", "dev")
    mlflow.set_tags({"to-delete": "x"})
    d = tempfile.mkdtemp(dir=_TMP.name)
    with open(os.path.join(d, "notes.txt"), "w") as f:
        f.write("trained well\n")
    mlflow.log_artifact(os.path.join(d, "notes.txt"))
    mlflow.log_artifacts(d, artifact_path="reports/v1")
rid = run.info.run_id

c = MlflowClient()
c.delete_tag(rid, "to-delete")
from mlflow.entities import Dataset, DatasetInput, InputTag

ds = DatasetInput(Dataset("mnist", "d1g3st", "http", '{"url": "https://example.com/mnist"}'), [InputTag("mlflow.data.context", "training")])
c.log_inputs(rid, [ds])
c.log_inputs(rid, [ds])  # the same dataset twice is kept once
r = c.get_run(rid)
assert r.info.status == "FINISHED", r.info.status
assert r.info.run_name == "baseline"
assert r.data.params == {"lr": "0.01", "epochs": "3", "optimizer": "adam"}, r.data.params
assert r.data.tags["team"] == "vision" and r.data.tags["stage"] == "dev"
assert "to-delete" not in r.data.tags
assert r.data.metrics["loss"] == 1.0 / 50
assert [(d.dataset.name, d.dataset.digest, d.tags[0].value) for d in r.inputs.dataset_inputs] == [("mnist", "d1g3st", "training")], r.inputs
assert r.data.metrics["acc"] == 0.75 and math.isnan(r.data.metrics["weird"]) and r.data.metrics["big"] == math.inf

hist = c.get_metric_history(rid, "loss")
assert [(m.step, m.value) for m in hist] == [(s, 1.0 / (s + 1)) for s in range(50)]

assert sorted(f.path for f in c.list_artifacts(rid)) == ["notes.txt", "reports"]
assert [f.path for f in c.list_artifacts(rid, "reports/v1")] == ["reports/v1/notes.txt"]
local = c.download_artifacts(rid, "reports/v1/notes.txt", tempfile.mkdtemp(dir=_TMP.name))
assert open(local).read() == "trained well\n"

# A second run, then searches with MLflow's filter syntax and order_by.
with mlflow.start_run(run_name="bigger-lr") as run2:
    mlflow.log_param("lr", 0.1)
    mlflow.log_metric("loss", 0.5)
found = mlflow.search_runs(filter_string="metrics.loss < 0.4", output_format="list")
assert [x.info.run_id for x in found] == [rid], found
found = mlflow.search_runs(order_by=["metrics.loss DESC"], output_format="list")
assert [x.info.run_id for x in found] == [run2.info.run_id, rid]
found = mlflow.search_runs(filter_string="params.lr = '0.1' and tags.mlflow.runName = 'bigger-lr'", output_format="list")
assert [x.info.run_id for x in found] == [run2.info.run_id]
found = mlflow.search_runs(filter_string="attributes.status = 'FINISHED' and tags.team LIKE 'vis%'", output_format="list")
assert [x.info.run_id for x in found] == [rid]

# Errors arrive in MLflow's shape, so the client reports them well.
def fails(code, fn):
    try:
        fn()
    except MlflowException as e:
        assert e.error_code == code, (e.error_code, e.message)
        return e.message
    raise AssertionError(f"expected {code}")

msg = fails("INVALID_PARAMETER_VALUE", lambda: mlflow.search_runs(filter_string="metrics.loss <", output_format="list"))
assert "character 15" in msg, msg
fails("INVALID_PARAMETER_VALUE", lambda: c.log_param(rid, "lr", "0.5"))
fails("RESOURCE_DOES_NOT_EXIST", lambda: c.get_run("0" * 32))
fails("INVALID_PARAMETER_VALUE", lambda: c.log_metric(rid, "../escape", 1.0))

# Soft delete and restore.
c.delete_run(run2.info.run_id)
assert [x.info.run_id for x in mlflow.search_runs(output_format="list")] == [rid]
c.restore_run(run2.info.run_id)
assert len(mlflow.search_runs(output_format="list")) == 2
# The link the client prints when a run ends opens Myelin's run page (through the page shell's `/go/…`).
import contextlib
import io

printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    with mlflow.start_run(run_name="linked") as linked:
        pass
uri = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
want = f"View run linked at: {uri}/#/experiments/{exp_id}/runs/{linked.info.run_id}"
assert want in printed.getvalue(), printed.getvalue()
print("roundtrip ok")
