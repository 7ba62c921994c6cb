"""``adaft runs list`` and ``adaft runs show RUN``: the run store as a table and one run in words."""

from __future__ import annotations

import argparse
import time


def add_runs_parser(sub) -> None:
    """Add ``runs list`` / ``runs show`` to the ``adaft`` sub-command parsers."""
    r = sub.add_parser("runs", help="list or show runs")
    rsub = r.add_subparsers(dest="runs_command", required=True)
    rl = rsub.add_parser("list", help="a table of runs")
    rl.add_argument("--runs", default="runs", help="runs folder (default: %(default)s)")
    rs = rsub.add_parser("show", help="one run's summary and decisions")
    rs.add_argument("run", help="run id, id prefix or folder")
    rs.add_argument("--runs", default="runs", help="runs folder (default: %(default)s)")
    rs.add_argument("--json", action="store_true", help="print run.json")


def cmd_runs(args: argparse.Namespace) -> int:
    if args.runs_command == "list":
        return cmd_runs_list(args)
    return cmd_runs_show(args)


def _fmt(v, spec=".4f") -> str:
    return "-" if v is None else format(v, spec)


def cmd_runs_list(args) -> int:
    from .runs import list_runs

    runs = list_runs(args.runs)
    if not runs:
        print(f"no runs in {args.runs}")
        return 0
    rows = [("name", "status", "mode", "strategy", "epochs", "val", "test", "time")]
    for r in runs:
        rows.append((r.run_id, r.status, r.mode, r.strategy, _fmt(r.epochs, "d"), _fmt(r.val_score),
                     _fmt(r.test_score), "-" if r.wall_time is None else f"{r.wall_time:.0f}s"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_runs_show(args) -> int:
    from .runs import RUN_FILE, find_run, read_events, summarize_run

    path = find_run(args.runs, args.run)
    if args.json:
        print((path / RUN_FILE).read_text(encoding="utf-8"))
        return 0
    s = summarize_run(path)
    print(f"run {s.run_id}  ({path})")
    print(f"status {s.status}, task {s.task}, mode {s.mode}, strategy {s.strategy}, epochs {s.epochs}, "
          f"best epoch {s.best_epoch}, val {s.metric} {_fmt(s.val_score)}, test {s.metric} {_fmt(s.test_score)}")
    for ev in read_events(path):
        if ev["event"] == "decision":
            print(f"  epoch {ev['epoch']:>3}  {ev['phase']:<8} {ev['action']:<8} {ev['reason']}")
        elif ev["event"] == "run_ended" and ev.get("error"):
            print(f"  error: {ev['error']}")
        if ev["event"] == "run_ended":
            for name, m in (ev.get("eval_data") or {}).items():  # out-of-domain sets (--eval-data)
                print(f"  eval:{name}  {s.metric} {_fmt((m or {}).get(s.metric))}")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.started)) if s.started else "-"
    print(f"started {started}, wall time {_fmt(s.wall_time, '.1f')} s")
    return 0
