#!/usr/bin/env python3
"""Drives `cast repl` through a real pseudo-terminal, for CastREPLTests.

Usage: pty_driver.py CAST_EXECUTABLE < spec.json, where the spec is
  {"env": {NAME: VALUE}, "steps": [STEP, ...]} and a step is one of
  {"send": TEXT}                          write TEXT to the terminal (as if typed)
  {"expect": TEXT, "timeout": SECONDS}    wait until TEXT appears in the output after the
                                          previous match (plain text, not a pattern)
  {"exit": SECONDS}                       wait for cast to exit; record its status
Prints one JSON object: {"failure": null or what failed, "status": exit status or null,
"transcript": everything the terminal showed}. Uses only the standard library.
"""
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def main():
    cast = sys.argv[1]
    spec = json.load(sys.stdin)
    env = dict(os.environ)
    env.setdefault("TERM", "xterm")
    env.update(spec.get("env", {}))
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(cast, [cast, "repl"] + spec.get("args", []), env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    transcript = bytearray()
    position = 0
    failure = None
    status = None
    closed = False

    def pump(timeout):
        """Read what the terminal has within `timeout` seconds; False once it closed."""
        nonlocal closed
        if closed:
            return False
        ready, _, _ = select.select([fd], [], [], timeout)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                closed = True
                return False
            transcript.extend(chunk)
        return True

    try:
        for index, step in enumerate(spec["steps"]):
            if "send" in step:
                os.write(fd, step["send"].encode())
                pump(0.05)
            elif "expect" in step:
                wanted = step["expect"].encode()
                deadline = time.monotonic() + step.get("timeout", 20)
                while True:
                    found = transcript.find(wanted, position)
                    if found >= 0:
                        position = found + len(wanted)
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not pump(min(remaining, 0.2)) and closed:
                        failure = {"step": index, "expected": step["expect"],
                                   "after": transcript[position:].decode("utf-8", "replace")}
                        break
                if failure:
                    break
            elif "exit" in step:
                deadline = time.monotonic() + step["exit"]
                while time.monotonic() < deadline:
                    done, raw = os.waitpid(pid, os.WNOHANG)
                    if done:
                        status = os.waitstatus_to_exitcode(raw)
                        break
                    pump(0.1)
                if status is None:
                    failure = {"step": index, "expected": "exit"}
                    break
                while pump(0.05):
                    pass
    finally:
        if status is None:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
    print(json.dumps({"failure": failure, "status": status,
                      "transcript": transcript.decode("utf-8", "replace")}))


if __name__ == "__main__":
    main()
