"""The real `mlflow` client's model registry against Myelin: log a model, register it twice, alias it, search
versions, load it by alias through the artifact proxy and predict; protected aliases refuse a direct move.

Env: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN (an API token of the user `MYELIN_USER`).
"""
import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input + self.n


def error_code(fn):
    try:
        fn()
    except MlflowException as e:
        return e.error_code
    raise AssertionError("expected an MlflowException")


mlflow.set_experiment("registry-demo")
runs = []
for n in (1, 2):
    with mlflow.start_run() as run:
        mlflow.log_param("n", n)
        mlflow.log_metric("quality", 0.5 + n / 10)
        info = mlflow.pyfunc.log_model(name="model", python_model=AddN(n))
        runs.append(run.info.run_id)
# MLflow 3 keeps a model as a logged model of its run, found again by the run and name.
c = MlflowClient()
logged = c.get_logged_model(info.model_id)
assert logged.status.to_int() == 1 or str(logged.status).endswith("READY"), logged.status
assert logged.source_run_id == runs[1], logged.source_run_id
found = c.search_logged_models(experiment_ids=[logged.experiment_id], filter_string="name = 'model'")
assert {m.source_run_id for m in found} == set(runs), found

v1 = mlflow.register_model(f"runs:/{runs[0]}/model", "clf")
v2 = mlflow.register_model(f"runs:/{runs[1]}/model", "clf")
assert (v1.version, v2.version) == ("1", "2"), (v1.version, v2.version)
assert v1.status == "READY" and v2.status == "READY", (v1.status, v2.status)
assert v2.run_id == runs[1], v2.run_id

# An unprotected alias works as in MLflow.
c.set_registered_model_alias("clf", "candidate", "1")
assert c.get_model_version_by_alias("clf", "candidate").version == "1"
c.set_registered_model_alias("clf", "candidate", "2")
assert c.get_model_version_by_alias("clf", "candidate").version == "2"
assert c.get_registered_model("clf").aliases == {"candidate": "2"}

# Searching versions: filters on name and run_id (= and IN), and pages.
got = c.search_model_versions("name = 'clf'")
assert sorted(v.version for v in got) == ["1", "2"], got
got = c.search_model_versions(f"run_id = '{runs[0]}'")
assert [v.version for v in got] == ["1"], got
got = c.search_model_versions(f"run_id IN ('{runs[0]}', '{runs[1]}')")
assert len(got) == 2, got
page = c.search_model_versions("name = 'clf'", max_results=1)
assert len(page) == 1 and page.token, page
rest = c.search_model_versions("name = 'clf'", max_results=1, page_token=page.token)
assert len(rest) == 1 and rest[0].version != page[0].version, rest
c.set_model_version_tag("clf", "1", "validated", "yes")
got = c.search_model_versions("name = 'clf' AND tags.`validated` = 'yes'")
assert [v.version for v in got] == ["1"], got
found = c.search_registered_models("name LIKE 'cl%'")
assert [m.name for m in found] == ["clf"], found

# Loading by alias downloads through Myelin's artifact proxy; the model predicts.
model = mlflow.pyfunc.load_model("models:/clf@candidate")
out = model.predict(pd.DataFrame({"x": [1.0, 2.0]}))
assert list(out["x"]) == [3.0, 4.0], out
assert list(mlflow.pyfunc.load_model("models:/clf/1").predict(pd.DataFrame({"x": [1.0]}))["x"]) == [2.0]

# A protected alias does not move through the MLflow API: it takes an approved promotion request.
assert error_code(lambda: c.set_registered_model_alias("clf", "production", "2")) == "PERMISSION_DENIED"
assert error_code(lambda: c.set_registered_model_alias("clf", "champion", "2")) == "PERMISSION_DENIED"

# Deleting the alias: asking for it again is RESOURCE_DOES_NOT_EXIST.
c.delete_registered_model_alias("clf", "candidate")
assert error_code(lambda: c.get_model_version_by_alias("clf", "candidate")) == "RESOURCE_DOES_NOT_EXIST"
assert error_code(lambda: c.get_registered_model("nope")) == "RESOURCE_DOES_NOT_EXIST"
assert error_code(lambda: c.create_registered_model("clf")) == "RESOURCE_ALREADY_EXISTS"

# Stages, as MLflow still accepts them.
c.transition_model_version_stage("clf", "2", "Staging")
assert [v.version for v in c.get_latest_versions("clf", stages=["Staging"])] == ["2"]
c.rename_registered_model("clf", "classifier")
assert c.get_model_version("classifier", "2").current_stage == "Staging"
c.delete_model_version("classifier", "1")
assert [v.version for v in c.search_model_versions("name = 'classifier'")] == ["2"]
c.delete_registered_model("classifier")
assert error_code(lambda: c.get_registered_model("classifier")) == "RESOURCE_DOES_NOT_EXIST"
print("registry ok")
