#!/usr/bin/env python3
"""The Python side of `cargo bench -p backend --bench ingest`: MLflow's runs/log-batch with 10 metrics over
one keep-alive connection per client (the standard library's http.client; bodies serialized in advance), one
process per client, each logging to its own run. Prints {"p50_ms", "p99_ms", "rps"} as JSON."""

import argparse
import http.client
import json
import multiprocessing
import time


def body(run, step):
    metrics = [
        {"key": f"m{k}", "value": step * 0.5 + k, "timestamp": 1_700_000_000_000 + step, "step": step}
        for k in range(10)
    ]
    return json.dumps({"run_id": run, "metrics": metrics}).encode()


def client(host, token, run, n, start, out):
    hostname, port = host.rsplit(":", 1)
    conn = http.client.HTTPConnection(hostname, int(port))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def post(b):
        conn.request("POST", "/api/2.0/mlflow/runs/log-batch", b, headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit(f"log-batch: {r.status} {data[:300]!r}")

    for i in range(50):
        post(body(run, 1_000_000 + i))
    bodies = [body(run, i) for i in range(n)]
    start.wait()
    lat = []
    for b in bodies:
        t = time.perf_counter()
        post(b)
        lat.append(time.perf_counter() - t)
    out.put((lat, time.perf_counter()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--token")
    p.add_argument("--runs", required=True, help="one run id per client, comma-separated")
    p.add_argument("--requests", type=int, default=2000, help="batches per client")
    a = p.parse_args()
    runs = a.runs.split(",")
    start = multiprocessing.Barrier(len(runs) + 1)
    out = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=client, args=(a.host, a.token, r, a.requests, start, out)) for r in runs
    ]
    for proc in procs:
        proc.start()
    start.wait()
    t0 = time.perf_counter()
    lat, end = [], t0
    for _ in procs:
        l, e = out.get()
        lat.extend(l)
        end = max(end, e)
    for proc in procs:
        proc.join()
    lat.sort()
    at = lambda q: lat[int((len(lat) - 1) * q)] * 1000
    print(json.dumps({"p50_ms": at(0.5), "p99_ms": at(0.99), "rps": len(lat) / (end - t0)}))


if __name__ == "__main__":
    main()
