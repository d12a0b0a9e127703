#!/usr/bin/env python3
"""Times Polyaxon's own check + compile of polyaxonfiles, in process (imports excluded), for comparison
with `cargo bench -p spec --bench compile`. Needs `pip install polyaxon==2.18.0` (see scripts/bench/README).

    python3 scripts/bench/polyaxon_compile.py FILE [-P name=value ...] [--runs N]
"""
import argparse
import statistics
import time

from polyaxon._polyaxonfile.check import check_polyaxonfile
from polyaxon._polyaxonfile.specs import OperationSpecification

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("-P", dest="params", action="append", default=[])
ap.add_argument("--runs", type=int, default=50)
a = ap.parse_args()
params = dict(p.split("=", 1) for p in a.params) or None


def once():
    op = check_polyaxonfile(polyaxonfile=[a.file], params=params, to_op=True, validate_params=True, is_cli=False)
    return OperationSpecification.compile_operation(op)


once()
times = []
for _ in range(a.runs):
    t = time.perf_counter()
    once()
    times.append(time.perf_counter() - t)
print(f"{a.file}: median {statistics.median(times) * 1e3:.3f} ms over {a.runs} runs")
