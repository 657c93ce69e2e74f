"""Points Jupyter at the cast binary under test: a kernelspec `cast-test` in a temporary
JUPYTER_PATH whose argv is $CAST_EXECUTABLE (default: .build/release/cast), and a
temporary kernel history file, so tests never touch the user's."""
import atexit
import json
import os
import pathlib
import shutil
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[3]
CAST = os.environ.get("CAST_EXECUTABLE") or str(REPO / ".build" / "release" / "cast")
if not os.access(CAST, os.X_OK):
    raise RuntimeError(f"no cast binary at {CAST}: build it or set CAST_EXECUTABLE")

_root = pathlib.Path(tempfile.mkdtemp(prefix="cast-kernel-tests-"))
atexit.register(shutil.rmtree, _root, ignore_errors=True)
_spec = _root / "kernels" / "cast-test"
_spec.mkdir(parents=True)
(_spec / "kernel.json").write_text(json.dumps({
    "argv": [CAST, "kernel", "-f", "{connection_file}"],
    "display_name": "cast (tests)",
    "language": "cast",
    "interrupt_mode": "message",
}))
os.environ["JUPYTER_PATH"] = str(_root)
os.environ["CAST_KERNEL_HISTORY"] = str(_root / "history.jsonl")
