"""Wall time of the offline policy gate per stack, and how it splits between the program and the analysis.

    python -m bench.gate_bench [--runs N] [--stacks dev prod]

Each run is a fresh ``python -m scripts.preview --stack <stack> --json --timings`` process, as ``make preview``
starts it, so interpreter start-up and imports count. The gate's own timings split the rest: the program under the
mock engine (the pack boots and judges each resource meanwhile), any wait after it for the pack to take every
resource, and the rest of the analysis (the answers, AnalyzeStack). ``cpu`` is the CPU time of the gate and its pack
together, which other work on the machine does not inflate the way it inflates wall time (the load average is
printed for that reason). The budget is a median wall time of at most 1.5 s for prod on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.5


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(stack: str) -> dict[str, float]:
    started, cpu_before = time.perf_counter(), _children_cpu()
    done = subprocess.run([sys.executable, "-m", "scripts.preview", "--stack", stack, "--json", "--timings"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if done.returncode not in (0, 1):
        raise SystemExit(f"gate failed for {stack} (exit {done.returncode}):\n{done.stderr or done.stdout}")
    report = json.loads(done.stdout)
    return {"wall": wall, "cpu": cpu, "resources": report["summary"]["resources"], **report["timings"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per stack (the median is reported)")
    parser.add_argument("--stacks", nargs="+", default=["dev", "prod"])
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.2f}, {args.runs} runs per stack, medians in seconds")
    print(f"{'stack':6} {'res':>4} {'wall':>6} {'cpu':>6} {'start':>6} {'program':>8} {'wait':>6} {'analysis':>9}"
          f" {'program%':>9} {'analysis%':>10}")
    slow = []
    for stack in args.stacks:
        runs = [one_run(stack) for _ in range(args.runs)]
        m = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        startup = m["wall"] - m["total"]
        print(f"{stack:6} {int(m['resources']):>4} {m['wall']:6.2f} {m['cpu']:6.2f} {startup:6.2f} {m['program']:8.2f}"
              f" {m['analyzer_wait']:6.2f} {m['analysis']:9.2f} {100 * m['program'] / m['wall']:8.0f}%"
              f" {100 * m['analysis'] / m['wall']:9.0f}%")
        if m["wall"] > TARGET_SECONDS:
            slow.append(stack)
    print(f"budget <= {TARGET_SECONDS:.1f}s per stack: " + (f"missed for {', '.join(slow)}" if slow else "met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
