"""scripts/bench_kernel_client.py, the client side of `cast bench kernel`, on a few requests:
it starts both kernels, times every kind of request and prints the JSON the Swift side reads."""
import json
import subprocess
import sys

from conftest import CAST, REPO


def test_bench_client_reports_both_kernels():
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_kernel_client.py"), "--cast", CAST,
                           "-n", "20", "--rounds", "2", "--warm-up", "2"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n"] == 20
    assert set(report["kernels"]) == {"cast", "ipykernel"}
    for kernel in report["kernels"].values():
        assert set(kernel) == {"execute_reply", "execute_idle", "complete_reply"}
        for stats in kernel.values():
            assert stats["count"] == 20
            assert 0 < stats["min"] <= stats["median"] <= stats["p99"] < 30
    cast = report["kernels"]["cast"]
    assert cast["execute_reply"]["median"] <= cast["execute_idle"]["median"]
    assert {"jupyter_client", "ipykernel", "libzmq"} <= set(report["versions"])
