"""Runs inside a Myelin job: only the injected environment, no configuration."""
import os
import tempfile

import mlflow

# Every temporary directory below lives in this one, removed when the script ends.
_TMP = tempfile.TemporaryDirectory()

with mlflow.start_run() as run:
    assert run.info.run_id == os.environ["MYELIN_RUN_UUID"].replace("-", ""), run.info.run_id
    mlflow.log_param("from_job", "yes")
    for step in range(20):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metric("accuracy", 0.93)
    path = os.path.join(tempfile.mkdtemp(dir=_TMP.name), "model.txt")
    with open(path, "w") as f:
        f.write("weights")
    mlflow.log_artifact(path)
print("logged from the job")
