"""The run store tolerates what it finds: a corpus of damaged run folders leaves ``adaft runs list``
working and reports each one (issue 9, acceptance 1); names, prefixes and free-name checks."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from run_folders import T0, events, lines, make_run

from adaft_core import cli
from adaft_core.errors import ConfigError
from adaft_core.store.liveness import HOST, owner_info
from adaft_core.store.run_log import MAX_LINE
from adaft_core.store.runs import (check_run_name_free, drop_incomplete_tail, find_run, list_runs, request_stop,
                                   summarize_run)


def corpus(root: Path) -> dict[str, tuple[str, str]]:
    """≥ 10 kinds of damaged run folders: name → (the status listed, a piece of the reason)."""
    good = lines(events("x"))
    make_run(root, "no-events").joinpath("events.jsonl").unlink()
    make_run(root, "empty-events", log=b"")
    make_run(root, "truncated", log=good[:-25], info="ok", ended=False)  # cut inside run_ended, process gone
    make_run(root, "binary", log=b"\xff\xd8\xff\xe0" + random.Random(0).randbytes(4096))  # a JPEG's bytes
    make_run(root, "not-an-object", log=b"[1, 2, 3]\n")
    make_run(root, "foreign", log=b'{"level": "info", "msg": "hello"}\n{"level": "warn"}\n')
    make_run(root, "run-json-not-json", info=b"{status: running")
    make_run(root, "run-json-a-list", info=b'["completed"]')
    make_run(root, "run-json-empty", info=b"")
    make_run(root, "run-json-missing", info=None)
    (make_run(root, "events-a-folder") / "events.jsonl").unlink()
    (root / "events-a-folder" / "events.jsonl").mkdir()
    evs = lines(events("x")).split(b"\n")
    make_run(root, "bad-utf8", log=b"\n".join(evs[:2] + [b'{"event": "step", "seq": 2, "x": "\xff\xfe"}'] + evs[3:]))
    make_run(root, "huge-line", log=b"\n".join(evs[:2] + [b"x" * (MAX_LINE + 10)] + evs[2:]))
    backwards = events("seq-backwards")
    backwards[3]["seq"] = 1
    make_run(root, "seq-backwards", log=lines(backwards))
    make_run(root, "no-run-started", log=lines(events("no-run-started")[1:]))
    return {
        "no-events": ("unreadable", "no events.jsonl"),
        "empty-events": ("unreadable", "events.jsonl is empty"),
        "truncated": ("interrupted", "events.jsonl:6: incomplete last line (ignored)"),
        "binary": ("unreadable", "events.jsonl:1: not UTF-8 text"),
        "not-an-object": ("unreadable", "events.jsonl:1: a JSON array, not an event object"),
        "foreign": ("unreadable", "events.jsonl:1: not an adaft event (no 'event' or 'seq' field; keys: level, msg)"),
        "run-json-not-json": ("unreadable", "run.json is not JSON"),
        "run-json-a-list": ("unreadable", "run.json holds a JSON array, not an object"),
        "run-json-empty": ("unreadable", "run.json is empty"),
        "run-json-missing": ("unreadable", "no run.json"),
        "events-a-folder": ("unreadable", "events.jsonl is a folder, not a file"),
        "bad-utf8": ("unreadable", "events.jsonl:3: not UTF-8 text"),
        "huge-line": ("unreadable", "events.jsonl:3: a line longer than 8 MiB"),
        "seq-backwards": ("unreadable", "events.jsonl:4: seq 1 after seq 2"),
        "no-run-started": ("unreadable", "events.jsonl:1: the log does not begin with run_started"),
    }


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "runs"
    expected = corpus(root)
    make_run(root, "good")
    make_run(root, "killed", ended=False)  # run.json "running", its process gone
    make_run(root, "alive", ended=False, owner=owner_info())  # this test process runs it
    for name in (".launch", "sweeps", "exports", ".hidden"):
        (root / name).mkdir()
    (root / "notes.txt").write_text("not a folder")
    return root, expected


def test_damaged_corpus_is_listed_and_each_folder_reported(store, capsys):
    root, expected = store
    assert len(expected) >= 10
    t0 = time.perf_counter()
    runs = {r.run_id: r for r in list_runs(root)}
    seconds = time.perf_counter() - t0
    assert set(runs) == set(expected) | {"good", "killed", "alive"}  # no hidden folder, sweeps/, exports/
    for name, (status, reason) in expected.items():
        r = runs[name]
        said = "; ".join(filter(None, [r.reason, *r.notes]))
        assert r.status == status and reason in said, (name, r.status, said)
    assert runs["good"].status == "completed" and runs["good"].test_score == 0.4 and runs["good"].reason is None
    assert runs["killed"].status == "interrupted" and runs["killed"].last_seen == T0 + 4
    assert runs["alive"].status == "running" and runs["alive"].alive
    assert runs["no-run-started"].epochs == 1  # what could be read is still summarised
    assert cli.main(["runs", "list", "--runs", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    for name, (status, reason) in expected.items():
        row = next(line for line in out if line.startswith(name + " "))
        assert status in row and reason in row, row
    print(f"runs list of {len(runs)} folders (one of 8 MiB) in {seconds * 1000:.0f} ms")


@pytest.mark.parametrize("name", ["binary", "seq-backwards", "truncated", "run-json-a-list", "no-events",
                                  "events-a-folder", "huge-line"])
def test_runs_show_prints_what_it_can_and_names_the_first_bad_line(store, capsys, name):
    root, expected = store
    assert cli.main(["runs", "show", name, "--runs", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"run {name}" in out and expected[name][1] in out and f"status {expected[name][0]}" in out
    if name == "seq-backwards":  # the good lines around the bad one are still shown
        assert "epoch   1  warmup   continue first value" in out  # the event's epoch 0, counted from 1


def test_show_of_an_interrupted_run_says_how_to_continue(store, capsys):
    root, _ = store
    assert cli.main(["runs", "show", "killed", "--runs", str(root)]) == 0
    out = capsys.readouterr().out
    assert "status interrupted" in out and "last seen" in out and "adaft train --resume" in out


def test_prefixes_and_unknown_names_get_one_clear_message(store, capsys):
    root, _ = store
    assert find_run(root, "goo") == root / "good"
    assert find_run(root, str(root / "killed")) == root / "killed"
    with pytest.raises(ConfigError, match=r"'run-json' is ambiguous .* 4 runs begin with it"):
        find_run(root, "run-json")
    with pytest.raises(ConfigError, match=r"no run 'nope' in .*runs there: alive, bad-utf8"):
        find_run(root, "nope")
    assert cli.main(["runs", "show", "run-json", "--runs", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ambiguous" in err and "Traceback" not in err


def test_check_run_name_free_says_what_holds_the_name(store):
    root, _ = store
    check_run_name_free(root, "new-name")
    with pytest.raises(ConfigError, match=r"'alive' is already running .*process \d+ on"):
        check_run_name_free(root, "alive")
    with pytest.raises(ConfigError, match=r"'killed' already exists .*\(interrupted\); continue it with "
                                          r"`adaft train --resume killed`"):
        check_run_name_free(root, "killed")
    with pytest.raises(ConfigError, match=r"'good' already exists .*\(completed\); choose another"):
        check_run_name_free(root, "good")
    with pytest.raises(ConfigError, match=r"'binary' .* is not a readable run \(events.jsonl:1"):
        check_run_name_free(root, "binary")


def test_stop_on_an_interrupted_run_says_so(store):
    root, _ = store
    asked, text = request_stop(root / "killed")
    assert not asked and "interrupted" in text and "last seen" in text
    assert not (root / "killed" / "STOP").exists()  # a resume must not stop at once
    asked, text = request_stop(root / "alive")
    assert asked and (root / "alive" / "STOP").exists()
    assert request_stop(root / "good") == (False, "good is not running (completed)")


def test_a_new_empty_folder_is_starting_then_unreadable(tmp_path):
    (tmp_path / "fresh").mkdir()
    assert summarize_run(tmp_path / "fresh").status == "starting"
    old = summarize_run(tmp_path / "fresh", now=time.time() + 3600)
    assert old.status == "unreadable" and old.reason.startswith("not a run: no run.json or events.jsonl")


def test_drop_incomplete_tail_keeps_whole_lines(tmp_path):
    log = tmp_path / "events.jsonl"
    log.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    assert drop_incomplete_tail(log) == 6 and log.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert drop_incomplete_tail(log) == 0


def test_show_names_the_first_event_that_breaks_the_schema(tmp_path, capsys):
    evs = events("odd")
    evs[0].update(model="tiny", seed=1, train_size=48, val_size=16, steps_per_epoch=2, max_epochs=1, labels=["O"],
                  device="cpu", versions={"adaft": "0.2.0"}, host=HOST, pid=1)
    del evs[2]["loss"]
    make_run(tmp_path, "odd", log=lines(evs))
    assert cli.main(["runs", "show", "odd", "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "note: events.jsonl:3: step (seq 2): required field 'loss' is missing" in out
    assert summarize_run(tmp_path / "odd").status == "completed"  # readable: the schema is a note only
