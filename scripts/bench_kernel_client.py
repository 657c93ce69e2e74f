#!/usr/bin/env python3
"""The client side of `cast bench kernel`: round-trip latency of execute_request and
complete_request against the cast kernel and ipykernel, with the same jupyter_client
BlockingKernelClient, in one run.

Both kernels are started once and warmed up; then rounds alternate between them (so a
change in machine load hits both alike). For each request it records the time from sending
to the shell reply (`reply`) and to the IOPub `idle` that closes the request (`idle`: when a
front end knows every output has arrived). Prints one JSON object on stdout:

    {"n": 500, "kernels": {"cast": {"execute_reply": {...}, "execute_idle": {...},
                                    "complete_reply": {...}}, "ipykernel": {...}},
     "versions": {...}}

where each {...} holds median, p99, mean, min (seconds) and the sample count.

Run it with .venv-jupyter's python (scripts/jupyter-venv.sh):
    .venv-jupyter/bin/python scripts/bench_kernel_client.py --cast .build/release/cast
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import ipykernel
import jupyter_client
import zmq
from jupyter_client import KernelManager

# The same trivial work for each kernel: a cell whose value is shown, and a completion of a
# builtin's prefix.
CELLS = {
    "cast": {"execute": "1 + 1", "complete": ("pri", 3)},
    "ipykernel": {"execute": "1 + 1", "complete": ("pri", 3)},
}


def percentile(values, q):
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values):
    return {
        "median": statistics.median(values),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
        "min": min(values),
        "count": len(values),
    }


class Timed:
    """One started kernel and a blocking client, with the requests the benchmark times."""

    def __init__(self, name, spec_name, env):
        self.name = name
        self.km = KernelManager(kernel_name=spec_name)
        # The kernels' own logs (start-up notes, warnings) stay out of the JSON's way.
        self.km.start_kernel(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.drain()
        self.samples = {"execute_reply": [], "execute_idle": [], "complete_reply": []}

    def drain(self):
        """Throws away anything still queued on the shell and IOPub channels."""
        for channel in (self.kc.shell_channel, self.kc.iopub_channel):
            while channel.msg_ready():
                channel.get_msg(timeout=0)

    def wait_reply(self, msg_id, reply_type):
        while True:
            msg = self.kc.get_shell_msg(timeout=30)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == reply_type:
                return msg

    def wait_idle(self, msg_id):
        while True:
            msg = self.kc.get_iopub_msg(timeout=30)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                return

    def execute(self, record=True):
        code = CELLS[self.name]["execute"]
        start = time.perf_counter()
        msg_id = self.kc.execute(code, store_history=True)
        reply = self.wait_reply(msg_id, "execute_reply")
        replied = time.perf_counter()
        self.wait_idle(msg_id)
        idle = time.perf_counter()
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{self.name}: {code!r} failed: {reply['content']}")
        if record:
            self.samples["execute_reply"].append(replied - start)
            self.samples["execute_idle"].append(idle - start)

    def complete(self, record=True):
        code, cursor = CELLS[self.name]["complete"]
        start = time.perf_counter()
        msg_id = self.kc.complete(code, cursor)
        reply = self.wait_reply(msg_id, "complete_reply")
        replied = time.perf_counter()
        self.wait_idle(msg_id)
        if not reply["content"]["matches"]:
            raise RuntimeError(f"{self.name}: no completions for {code!r}")
        if record:
            self.samples["complete_reply"].append(replied - start)

    def stop(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cast", required=True, help="the cast binary (its `cast kernel -f …` is started)")
    parser.add_argument("-n", type=int, default=500, help="timed requests of each kind per kernel")
    parser.add_argument("--rounds", type=int, default=10, help="alternations between the kernels")
    parser.add_argument("--warm-up", type=int, default=30, help="untimed requests of each kind first")
    args = parser.parse_args()

    root = pathlib.Path(tempfile.mkdtemp(prefix="cast-bench-kernel-"))
    try:
        # A private JUPYTER_PATH with both kernelspecs, and private history for both kernels,
        # so the benchmark leaves the user's files alone.
        cast_spec = root / "kernels" / "cast-bench"
        cast_spec.mkdir(parents=True)
        (cast_spec / "kernel.json").write_text(json.dumps({
            "argv": [os.path.abspath(args.cast), "kernel", "-f", "{connection_file}"],
            "display_name": "cast (bench)", "language": "cast", "interrupt_mode": "message"}))
        py_spec = root / "kernels" / "python-bench"
        py_spec.mkdir(parents=True)
        (py_spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "ipykernel (bench)", "language": "python"}))
        os.environ["JUPYTER_PATH"] = str(root)
        env = dict(os.environ)
        env["CAST_KERNEL_HISTORY"] = str(root / "cast_history.jsonl")
        env["IPYTHONDIR"] = str(root / "ipython")

        kernels = [Timed("cast", "cast-bench", env), Timed("ipykernel", "python-bench", env)]
        try:
            for kernel in kernels:
                for _ in range(args.warm_up):
                    kernel.execute(record=False)
                    kernel.complete(record=False)
            per_round = [args.n // args.rounds + (1 if r < args.n % args.rounds else 0) for r in range(args.rounds)]
            for count in per_round:
                for kernel in kernels:
                    for _ in range(count):
                        kernel.execute()
                    for _ in range(count):
                        kernel.complete()
        finally:
            for kernel in kernels:
                kernel.stop()
        result = {
            "n": args.n,
            "kernels": {k.name: {kind: summary(v) for kind, v in k.samples.items()} for k in kernels},
            "versions": {"jupyter_client": jupyter_client.__version__, "ipykernel": ipykernel.__version__,
                         "pyzmq": zmq.__version__, "libzmq": zmq.zmq_version(),
                         "python": sys.version.split()[0]},
        }
        json.dump(result, sys.stdout)
        print()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
