"""The cast kernel under jupyter_client: interrupts (running and idle), forged messages,
restart, many rapid requests, huge output, liveness while a cell runs, a vanishing client,
input, progress, streaming and a headless notebook."""
import os
import queue
import time
import uuid

import nbformat
import pytest
import zmq
from jupyter_client import KernelManager
from jupyter_client.session import Session
from nbclient import NotebookClient

# A training cell long enough to interrupt: 500 LoRA steps on the smallest model.
LONG_TRAINING = 'print("training")\nl = train_lora(m, "arith", rank: 2, steps: 500, batch_size: 1)'


@pytest.fixture
def kernel():
    km = KernelManager(kernel_name="cast-test")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code, timeout=120, **options):
    """Executes code; returns (reply, iopub messages of this request up to idle)."""
    msg_id = kc.execute(code, **options)
    reply = shell_reply(kc, msg_id, timeout)
    return reply, drain_iopub(kc, msg_id, timeout)


def shell_reply(kc, msg_id, timeout=30):
    """The reply to msg_id, skipping replies to earlier requests (wait_for_ready's kernel_info)."""
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"]["msg_id"] == msg_id and reply["msg_type"] == "execute_reply":
            return reply
        assert reply["msg_type"] == "kernel_info_reply", reply


def next_reply(kc, timeout=30):
    """The next shell reply that is not a late kernel_info_reply (wait_for_ready may send
    kernel_info more than once when the kernel starts slowly)."""
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["msg_type"] != "kernel_info_reply":
            return reply


def is_child(msg, msg_id, parent_type="execute_request"):
    # jupyter_client's KernelManager and its clients number messages with separate counters
    # under one session id, so an interrupt_request can share an execute_request's msg_id.
    parent = msg["parent_header"]
    return parent.get("msg_id") == msg_id and parent.get("msg_type") == parent_type


def drain_iopub(kc, msg_id, timeout=30):
    out = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        if not is_child(msg, msg_id):
            continue
        out.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
    raise AssertionError("no idle for " + msg_id)


def value(kc, code):
    reply, msgs = run(kc, code)
    assert reply["content"]["status"] == "ok", reply["content"]
    results = [m for m in msgs if m["msg_type"] == "execute_result"]
    assert results, msgs
    return results[-1]["content"]["data"]["text/plain"]


def wait_for(kc, msg_id, msg_type, timeout=60, parent_type="execute_request"):
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if is_child(msg, msg_id, parent_type):
            seen.append(msg)
            if msg["msg_type"] == msg_type:
                return msg, seen
    raise AssertionError(f"no {msg_type} for {msg_id}")


def test_interrupt_stops_training_within_2s_and_keeps_state(kernel):
    km, kc = kernel
    assert value(kc, 'x = 41\nm = load("smollm2-135m")\nx + 1') == "42"
    msg_id = kc.execute(LONG_TRAINING)
    # stdout streams while the cell runs, before the progress display.
    stream, seen = wait_for(kc, msg_id, "stream")
    assert stream["content"] == {"name": "stdout", "text": "training\n"}
    display, more = wait_for(kc, msg_id, "update_display_data")
    seen += more
    first = [m for m in seen if m["msg_type"] == "display_data"]
    assert first and first[0]["content"]["transient"]["display_id"] == display["content"]["transient"]["display_id"]
    assert "text/html" in display["content"]["data"] and "steps" in display["content"]["data"]["text/plain"]
    time.sleep(1.0)
    start = time.time()
    km.interrupt_kernel()
    reply = shell_reply(kc, msg_id, timeout=10)
    stopped = time.time() - start
    print(f"interrupt: the cell stopped {stopped:.2f} s after the request")
    assert stopped <= 2.0, f"took {stopped:.2f} s to stop"
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    rest = drain_iopub(kc, msg_id)
    errors = [m for m in rest if m["msg_type"] == "error"]
    assert errors and errors[0]["content"]["ename"] == "KeyboardInterrupt"
    # The progress display got its final update, and updates stayed under 10 a second.
    updates = [m for m in seen + rest if m["msg_type"] == "update_display_data"]
    assert updates
    # Every variable keeps its value; the LoRA holds the steps it made; training continues.
    assert value(kc, "x") == "41"
    steps = int(value(kc, "l.steps"))
    assert 0 < steps < 500
    assert value(kc, 'l2 = train(l, "arith", steps: 2)\nl.steps') == str(steps + 2)


def test_progress_updates_are_throttled(kernel):
    km, kc = kernel
    reply, msgs = run(kc, 'm = load("smollm2-135m")\nt = generate(m, "Once upon a time", max_tokens: 40)')
    assert reply["content"]["status"] == "ok"
    stamps = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")]
    assert stamps, [m["msg_type"] for m in msgs]
    ids = {m["content"]["transient"]["display_id"] for m in stamps if m["content"].get("transient")}
    assert ids
    updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert updates, "no update_display_data"
    # The last update shows the finished task.
    assert "40/40" in updates[-1]["content"]["data"]["text/plain"] or "tokens" in updates[-1]["content"]["data"]["text/plain"]
    # At most one update per 0.1 s; only the final flush (the finished state) may come sooner.
    times = [m["header"]["date"] for m in updates]
    for a, b in zip(times[:-2], times[1:-1]):
        assert (b - a).total_seconds() >= 0.095, "more than 10 updates a second"


def test_interrupt_while_idle_is_harmless(kernel):
    km, kc = kernel
    assert value(kc, "y = 5\ny") == "5"
    for _ in range(3):
        km.interrupt_kernel()
    time.sleep(0.5)
    assert km.is_alive()
    reply, msgs = run(kc, "y * 2")
    assert reply["content"]["status"] == "ok"
    assert [m["content"]["data"]["text/plain"] for m in msgs if m["msg_type"] == "execute_result"] == ["10"], [(m["msg_type"], m["content"]) for m in msgs]
    # An interrupt_request answers on control even when nothing runs.
    msg = kc.session.msg("interrupt_request", {})
    kc.control_channel.send(msg)
    reply = kc.control_channel.get_msg(timeout=5)
    assert reply["msg_type"] == "interrupt_reply" and reply["content"]["status"] == "ok"
    assert reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]


def test_message_with_wrong_signature_is_not_executed(kernel):
    km, kc = kernel
    assert value(kc, "counter = 1\ncounter") == "1"
    forger = Session(key=b"not-the-key", username="mallory")
    wrong = forger.msg("execute_request", {"code": "counter = 999\nprint(\"pwned\")", "silent": False,
                                           "store_history": True, "user_expressions": {}, "allow_stdin": False,
                                           "stop_on_error": True})
    unsigned = Session(key=b"", username="mallory").msg("execute_request", dict(wrong["content"]))
    for session, msg in ((forger, wrong), (Session(key=b""), unsigned)):
        session.send(kc.shell_channel.socket, msg)
    with pytest.raises(queue.Empty):
        next_reply(kc, timeout=2)
    # No trace on IOPub either: the kernel never went busy for them.
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            break
        assert msg["parent_header"].get("msg_id") not in (wrong["header"]["msg_id"], unsigned["header"]["msg_id"])
    assert value(kc, "counter") == "1"


def test_restart_via_shutdown_request(kernel):
    km, kc = kernel
    assert value(kc, "z = 3\nz") == "3"
    first_pid = km.provisioner.process.pid
    msg_id = kc.shutdown(restart=True)
    reply = kc.get_control_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"] == {"status": "ok", "restart": True}
    # The kernel ends by itself, promptly.
    deadline = time.time() + 5
    while km.is_alive() and time.time() < deadline:
        time.sleep(0.1)
    assert not km.is_alive()
    km.restart_kernel(now=True)
    kc.wait_for_ready(timeout=60)
    assert km.provisioner.process.pid != first_pid
    reply, msgs = run(kc, "z")
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "NameError"
    assert value(kc, "1 + 1") == "2"


def test_200_rapid_executes_no_lost_or_misparented_reply(kernel):
    km, kc = kernel
    ids = [kc.execute(f"{i} + 1") for i in range(200)]
    replies = [next_reply(kc, timeout=60) for _ in ids]
    assert [r["parent_header"]["msg_id"] for r in replies] == ids
    counts = [r["content"]["execution_count"] for r in replies]
    assert counts == list(range(counts[0], counts[0] + 200))
    assert all(r["content"]["status"] == "ok" for r in replies)
    results, states = {}, {}
    while len(results) < 200 or sum(1 for s in states.values() if s[-1] == "idle") < 200:
        msg = kc.get_iopub_msg(timeout=30)
        parent = msg["parent_header"].get("msg_id")
        if msg["msg_type"] == "execute_result":
            results[parent] = msg["content"]["data"]["text/plain"]
        elif msg["msg_type"] == "status" and parent in ids:
            states.setdefault(parent, []).append(msg["content"]["execution_state"])
    assert [results[i] for i in ids] == [str(n + 1) for n in range(200)]
    assert all(states[i] == ["busy", "idle"] for i in ids)


def test_stop_on_error_aborts_queued_cells(kernel):
    km, kc = kernel
    # "Run all": three cells made at once, then sent; the first fails.
    burst = [kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                                "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
             for code in ("nope_not_defined", "q = 1", "q = 2")]
    for msg in burst:
        kc.shell_channel.send(msg)
    bad, queued = burst[0]["header"]["msg_id"], [m["header"]["msg_id"] for m in burst[1:]]
    replies = {}
    for _ in range(3):
        r = next_reply(kc)
        replies[r["parent_header"]["msg_id"]] = r["content"]["status"]
    assert replies[bad] == "error"
    assert [replies[i] for i in queued] == ["aborted", "aborted"]
    reply, _ = run(kc, "q")
    assert reply["content"]["status"] == "error"  # neither queued cell ran
    # A cell sent after the error was seen runs, and so does the one right after it.
    bad = kc.execute("nope_again")
    assert shell_reply(kc, bad)["content"]["status"] == "error"
    first, second = kc.execute("r = 1"), kc.execute("r + 1")
    assert shell_reply(kc, first)["content"]["status"] == "ok"
    assert shell_reply(kc, second)["content"]["status"] == "ok"


def test_10mb_of_output_does_not_kill_the_kernel(kernel):
    km, kc = kernel
    code = 's = "0123456789"\n' + "s = s + s\n" * 20 + "print(s)"
    reply, msgs = run(kc, code, timeout=120)
    assert reply["content"]["status"] == "ok"
    text = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
    assert len(text) == 10 * 2**20 + 1
    assert km.is_alive()
    assert value(kc, "len(s)") == str(10 * 2**20)


def test_heartbeat_and_control_answer_while_a_cell_runs(kernel):
    km, kc = kernel
    value(kc, 'm = load("smollm2-135m")\n1')
    msg_id = kc.execute(LONG_TRAINING)
    wait_for(kc, msg_id, "update_display_data")
    # Heartbeat: a raw REQ ping echoes at once.
    ctx = zmq.Context.instance()
    hb = ctx.socket(zmq.REQ)
    hb.linger = 0
    hb.connect(f"{km.transport}://{km.ip}:{km.hb_port}")
    start = time.time()
    hb.send(b"ping")
    assert hb.poll(2000), "no heartbeat while a cell runs"
    assert hb.recv() == b"ping"
    assert time.time() - start < 1
    hb.close()
    # Control: kernel_info answers while the cell runs.
    info = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(info)
    reply = kc.control_channel.get_msg(timeout=2)
    assert reply["parent_header"]["msg_id"] == info["header"]["msg_id"]
    assert reply["content"]["language_info"]["name"] == "cast"
    km.interrupt_kernel()
    assert shell_reply(kc, msg_id, timeout=10)["content"]["ename"] == "KeyboardInterrupt"


def test_client_that_disconnects_mid_cell_does_not_hang_the_kernel(kernel):
    km, kc = kernel
    value(kc, 'm = load("smollm2-135m")\n1')
    msg_id = kc.execute(LONG_TRAINING)
    wait_for(kc, msg_id, "update_display_data")
    kc.stop_channels()  # vanishes without a word
    other = km.client()
    other.start_channels()
    try:
        km.interrupt_kernel()
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                other.wait_for_ready(timeout=5)
                break
            except RuntimeError:
                continue
        reply, msgs = run(other, "2 + 2", timeout=30)
        assert reply["content"]["status"] == "ok"
        assert [m for m in msgs if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"] == "4"
        assert int(value(other, "l.steps")) < 500
    finally:
        other.stop_channels()


def test_input_request_on_stdin(kernel):
    km, kc = kernel
    msg_id = kc.execute('name = input("Who are you? ")', allow_stdin=True)
    request = kc.get_stdin_msg(timeout=10)
    assert request["msg_type"] == "input_request"
    assert request["content"]["prompt"] == "Who are you? "
    assert request["parent_header"]["msg_id"] == msg_id
    kc.input("Ada")
    assert shell_reply(kc, msg_id, timeout=10)["content"]["status"] == "ok"
    assert value(kc, "name") == '"Ada"'
    # Interrupting a cell that waits for input ends it as interrupted.
    msg_id = kc.execute('other = input("Again? ")', allow_stdin=True)
    assert kc.get_stdin_msg(timeout=10)["content"]["prompt"] == "Again? "
    km.interrupt_kernel()
    assert shell_reply(kc, msg_id, timeout=5)["content"]["ename"] == "KeyboardInterrupt"
    assert value(kc, "name") == '"Ada"'
    # A front end without stdin gets an error, not a hang.
    reply, _ = run(kc, 'input("x")', allow_stdin=False)
    assert reply["content"]["status"] == "error"
    assert "allow_stdin" in reply["content"]["evalue"]


def test_outputs_keep_their_order_and_values_before_an_error_still_show(kernel):
    km, kc = kernel
    reply, msgs = run(kc, '1\nprint("two")\n3\nwarn("four")\nundefined_five')
    assert reply["content"]["status"] == "error"
    shown = [(m["msg_type"], m["content"].get("data", {}).get("text/plain") or m["content"].get("text")
              or m["content"].get("ename")) for m in msgs if m["msg_type"] not in ("status", "execute_input")]
    assert shown == [("display_data", "1"), ("stream", "two\n"), ("display_data", "3"), ("stream", "four\n"),
                     ("error", "NameError")]
    reply, msgs = run(kc, '1\nprint("two")\n3')
    shown = [m["msg_type"] for m in msgs if m["msg_type"] not in ("status", "execute_input")]
    assert shown == ["display_data", "stream", "execute_result"]


def test_silent_and_user_expressions(kernel):
    km, kc = kernel
    reply, msgs = run(kc, "a = 7\na", silent=True)
    assert reply["content"]["status"] == "ok"
    assert [m["msg_type"] for m in msgs] == ["status", "status"]
    reply, _ = run(kc, "b = a * 2", user_expressions={"double": "b", "broken": "nope"})
    expressions = reply["content"]["user_expressions"]
    assert expressions["double"]["data"]["text/plain"] == "14"
    assert expressions["broken"]["status"] == "error" and expressions["broken"]["ename"] == "NameError"


def test_comms_are_closed_and_listed_empty(kernel):
    km, kc = kernel
    msg = kc.session.msg("comm_info_request", {})
    kc.shell_channel.send(msg)
    reply = next_reply(kc, timeout=5)
    assert reply["content"] == {"status": "ok", "comms": {}}
    comm_id = uuid.uuid4().hex
    msg = kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "jupyter.widget", "data": {}})
    kc.shell_channel.send(msg)
    closed, _ = wait_for(kc, msg["header"]["msg_id"], "comm_close", timeout=10, parent_type="comm_open")
    assert closed["content"]["comm_id"] == comm_id


def test_history_survives_a_restart(kernel):
    km, kc = kernel
    marker = f"marker_{uuid.uuid4().hex[:8]} = 1"
    run(kc, marker)
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    kc.history(hist_access_type="search", pattern="marker_*", output=False, raw=True)
    reply = next_reply(kc, timeout=10)
    assert marker in [row[2] for row in reply["content"]["history"]]


def test_a_notebook_runs_headless_with_nbclient():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 6 * 7\nprint(\"x is\", x)"),
                nbformat.v4.new_code_cell("vars()"),
                nbformat.v4.new_code_cell("display(svg(\"<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/>\"))")]
    NotebookClient(nb, kernel_name="cast-test", timeout=60).execute()
    assert nb.cells[0].outputs[0]["text"] == "x is 42\n"
    assert "text/html" in nb.cells[1].outputs[0]["data"]
    assert "image/svg+xml" in nb.cells[2].outputs[0]["data"]


def test_kernel_install_is_listed_by_jupyter(tmp_path):
    import json
    import subprocess
    import sys
    from conftest import CAST
    out = subprocess.run([CAST, "kernel", "install", "--prefix", str(tmp_path), "--name", "cast-installed"],
                         capture_output=True, text=True, check=True)
    assert "cast-installed" in out.stdout
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "share" / "jupyter"))
    jupyter = os.path.join(os.path.dirname(sys.executable), "jupyter")
    listed = subprocess.run([jupyter, "kernelspec", "list", "--json"],
                            capture_output=True, text=True, check=True, env=env)
    specs = json.loads(listed.stdout)["kernelspecs"]
    spec = specs["cast-installed"]["spec"]
    assert spec["argv"] == [os.path.realpath(CAST), "kernel", "-f", "{connection_file}"]
    assert spec["language"] == "cast" and spec["interrupt_mode"] == "message"
    folder = tmp_path / "share" / "jupyter" / "kernels" / "cast-installed"
    assert {p.name for p in folder.iterdir()} == {"kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"}


def test_sigint_interrupts_like_a_message_and_never_kills(kernel):
    import signal
    km, kc = kernel
    value(kc, 'm = load("smollm2-135m")\nkeep = "me"\n1')
    msg_id = kc.execute(LONG_TRAINING)
    wait_for(kc, msg_id, "update_display_data")
    start = time.time()
    km.signal_kernel(signal.SIGINT)
    reply = shell_reply(kc, msg_id, timeout=10)
    assert time.time() - start <= 2.0
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    km.signal_kernel(signal.SIGINT)  # while idle
    time.sleep(0.3)
    assert km.is_alive()
    assert value(kc, "keep") == '"me"'


def test_ipc_transport():
    km = KernelManager(kernel_name="cast-test", transport="ipc")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        assert value(kc, "2 * 3") == "6"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert not km.is_alive()


def test_nbconvert_executes_a_notebook(tmp_path):
    import subprocess
    import sys
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cast-test", "display_name": "cast", "language": "cast"}
    nb.cells = [nbformat.v4.new_code_cell("t = [1, 2, 3]\nlen(t)")]
    source = tmp_path / "in.ipynb"
    nbformat.write(nb, source)
    jupyter = os.path.join(os.path.dirname(sys.executable), "jupyter")
    subprocess.run([jupyter, "nbconvert", "--to", "notebook", "--execute", "--output", "out.ipynb", str(source)],
                   check=True, capture_output=True, text=True, cwd=tmp_path)
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.cells[0].outputs[0]["data"]["text/plain"] == "3"
    assert out.cells[0].execution_count == 1
    assert out.metadata["language_info"]["file_extension"] == ".cast"
