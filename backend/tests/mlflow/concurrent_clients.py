"""4 processes log 10,000 points each (plus params, tags and an artifact) at once; everything reads back exactly.

Env: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN.
"""
import multiprocessing as mp
import os
import tempfile
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

POINTS = 10_000


def values(worker):
    return [(s, (worker + 1) * 1000.0 + s / 7.0) for s in range(POINTS)]


def work(worker, exp_id, q):
    c = MlflowClient()
    run = c.create_run(exp_id, run_name=f"worker-{worker}")
    rid = run.info.run_id
    now = int(time.time() * 1000)
    pts = values(worker)
    # The first 200 points one call each (many small writes), the rest in batches of 1000.
    for s, v in pts[:200]:
        c.log_metric(rid, "loss", v, timestamp=now + s, step=s)
    rest = pts[200:]
    for i in range(0, len(rest), 1000):
        c.log_batch(rid, metrics=[Metric("loss", v, now + s, s) for s, v in rest[i : i + 1000]])
    c.log_batch(rid, params=[Param("worker", str(worker)), Param("lr", "0.01")], tags=[RunTag("group", "concurrent")])
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, f"w{worker}.bin"), "wb") as f:
            f.write(bytes(range(256)) * 64 * (worker + 1))
        c.log_artifact(rid, os.path.join(d, f"w{worker}.bin"))
    c.set_terminated(rid)
    q.put((worker, rid, now))


if __name__ == "__main__":
    exp_id = mlflow.set_experiment("concurrent").experiment_id
    q = mp.Queue()
    procs = [mp.Process(target=work, args=(w, exp_id, q)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0, p.exitcode
    c = MlflowClient()
    for _ in range(4):
        worker, rid, now = q.get()
        hist = c.get_metric_history(rid, "loss")
        got = sorted((m.step, m.value, m.timestamp) for m in hist)
        want = [(s, v, now + s) for s, v in values(worker)]
        assert got == want, f"worker {worker}: {len(got)} points read back"
        r = c.get_run(rid)
        assert r.data.params == {"worker": str(worker), "lr": "0.01"}, r.data.params
        assert r.data.tags["group"] == "concurrent"
        assert r.data.metrics["loss"] == values(worker)[-1][1]
        with tempfile.TemporaryDirectory() as d:
            path = c.download_artifacts(rid, f"w{worker}.bin", d)
            assert open(path, "rb").read() == bytes(range(256)) * 64 * (worker + 1)
    found = mlflow.search_runs(filter_string="tags.group = 'concurrent'", output_format="list")
    assert len(found) == 4
    print("concurrent ok")
