"""Liveness: the owner of a run, its heartbeat, and the verdict alive / gone (liveness.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from adaft_core.store.liveness import (HEARTBEAT_FILE, HEARTBEAT_TIMEOUT, HOST, LEGACY_TIMEOUT, Heartbeat, judge,
                                       owner_info, process_alive, process_start_time, read_heartbeat)
from adaft_core.store.runs import summarize_run

NOW = 1_800_000_000.0


def test_judge_same_host_asks_the_process_other_hosts_the_heartbeat():
    me = {"host": HOST, "pid": 123, "pid_start": 9.0}
    seen = []
    alive = judge(me, None, now=NOW, probe=lambda pid, start: seen.append((pid, start)) or True)
    assert alive.alive and seen == [(123, 9.0)] and alive.last_seen is None
    gone = judge(me, {"time": NOW - 5}, now=NOW, probe=lambda pid, start: False)
    assert not gone.alive and gone.last_seen == NOW - 5 and "process 123" in gone.why and "gone" in gone.why
    other = {"host": "elsewhere", "pid": 123, "pid_start": 9.0}
    never = lambda pid, start: (_ for _ in ()).throw(AssertionError("another host's pid is not probed"))  # noqa: E731
    assert judge(other, {"time": NOW - HEARTBEAT_TIMEOUT + 1}, now=NOW, probe=never).alive
    stale = judge(other, {"time": NOW - HEARTBEAT_TIMEOUT - 1}, now=NOW, probe=never)
    assert not stale.alive and stale.last_seen == NOW - HEARTBEAT_TIMEOUT - 1 and "on elsewhere" in stale.why
    # no owner in run.json: the heartbeat carries it
    assert judge(None, {**me, "time": NOW}, now=NOW, probe=lambda pid, start: pid == 123).alive
    # a log from before 0.2.0: only its age tells
    assert judge(None, None, now=NOW, log_mtime=NOW - 10).alive
    assert not judge(None, None, now=NOW, log_mtime=NOW - LEGACY_TIMEOUT - 1).alive
    assert not judge(None, None, now=NOW).alive


def test_process_alive_tells_a_reused_pid_and_a_zombie_from_a_live_process():
    me = owner_info()
    assert me["host"] == HOST and me["pid"] == os.getpid() and me["pid_start"] == process_start_time(os.getpid())
    assert process_alive(os.getpid(), me["pid_start"])
    assert not process_alive(os.getpid(), me["pid_start"] + 1)  # same pid, another start: reused
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = process_start_time(child.pid)
        assert process_alive(child.pid, start)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_alive(child.pid, start) and time.monotonic() < deadline:  # until the kernel marks it
            time.sleep(0.01)
        assert not process_alive(child.pid, start)  # killed, not reaped yet: a zombie is gone
    finally:
        child.wait()
    assert not process_alive(child.pid, start)


def test_heartbeat_is_rewritten_atomically_and_stays_after_stop(tmp_path):
    beat = Heartbeat(tmp_path, interval=0.002).start()
    bad, reads = [], 0
    deadline = time.monotonic() + 10
    while beat.beats < 50 and time.monotonic() < deadline:  # read while it is being rewritten
        text = (tmp_path / HEARTBEAT_FILE).read_text()
        reads += 1
        try:
            json.loads(text)
        except ValueError:
            bad.append(text)
    beat.stop()
    assert beat.beats >= 50 and reads > 0 and not bad
    last = read_heartbeat(tmp_path)
    assert last["pid"] == os.getpid() and last["host"] == HOST and abs(last["time"] - time.time()) < 5
    assert not [t for t in threading.enumerate() if t.name == "adaft-heartbeat" and t.is_alive()]
    assert not list(tmp_path.glob("*.tmp-*"))


def test_a_run_on_another_host_is_judged_by_its_heartbeat(tmp_path):
    run = tmp_path / "remote"
    run.mkdir()
    owner = {"host": "gpu-node-7", "pid": 4242, "pid_start": 1.0}
    (run / "run.json").write_text(json.dumps({"status": "running", "config": {}, "owner": owner}))
    (run / "events.jsonl").write_text(json.dumps({"event": "run_started", "run_id": "remote", "seq": 0,
                                                  "time": time.time() - 600}) + "\n")
    (run / HEARTBEAT_FILE).write_text(json.dumps({**owner, "time": time.time() - 2}))
    assert summarize_run(run).status == "running"
    (run / HEARTBEAT_FILE).write_text(json.dumps({**owner, "time": time.time() - HEARTBEAT_TIMEOUT - 30}))
    s = summarize_run(run)
    assert s.status == "interrupted" and abs(s.last_seen - (time.time() - HEARTBEAT_TIMEOUT - 30)) < 5
