"""``adaft runs list``, ``adaft runs show RUN`` and ``adaft runs clean``: the run store as a table, one
run in words, and freeing the checkpoints and models of finished runs
(``adaft_core/store/retention.py``)."""

from __future__ import annotations

import argparse
import time

from adaft_core.events.display import epoch_label


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
    rc = rsub.add_parser("clean", help="free the checkpoints and models of finished runs (a dry run unless --yes)",
                         description="Remove the checkpoint/ and model/ folders of finished (completed or early "
                                     "stopped) runs that the rule selects; logs, scores and masks stay. Runs that "
                                     "can be resumed are never touched. Without --yes, only lists what it would free.")
    rc.add_argument("--runs", default="runs", help="runs folder (default: %(default)s)")
    rc.add_argument("--older-than", metavar="AGE", help="only runs that ended more than AGE ago (30m, 12h, 7d, 2w)")
    rc.add_argument("--keep-best", action="store_true",
                    help="spare the best run of each sweep cell (highest test score, else validation score)")
    rc.add_argument("--sweep", metavar="NAME", help="only the points of this sweep")
    rc.add_argument("--what", choices=("all", "checkpoints", "models"), default="all",
                    help="what to free (default: %(default)s)")
    rc.add_argument("--yes", action="store_true", help="free it (default: only list it)")


def cmd_runs(args: argparse.Namespace) -> int:
    if args.runs_command == "list":
        return cmd_runs_list(args)
    if args.runs_command == "clean":
        return cmd_runs_clean(args)
    return cmd_runs_show(args)


def _fmt(v, spec=".4f") -> str:
    return "-" if v is None else format(v, spec)


def _note(r) -> str:
    """The last column of ``runs list``: why a run is unreadable, when an interrupted one was last seen."""
    if r.status == "unreadable":
        return "; ".join([r.reason or "", *r.notes])
    if r.status == "interrupted":
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.last_seen)) if r.last_seen else "never"
        return "; ".join([f"last seen {seen}", *[n for n in r.notes if not n.startswith("process gone")]])
    return "; ".join(r.notes)


def cmd_runs_list(args) -> int:
    from adaft_core.store.retention import folder_size, format_size
    from adaft_core.store.runs import list_runs

    runs = list_runs(args.runs)
    if not runs:
        print(f"no runs in {args.runs}")
        return 0
    rows = [("name", "status", "mode", "strategy", "epochs", "val", "test", "time", "size", "note")]
    for r in runs:
        rows.append((r.run_id, r.status, r.mode, r.strategy, _fmt(r.epochs, "d"), _fmt(r.val_score),
                     _fmt(r.test_score), "-" if r.wall_time is None else f"{r.wall_time:.0f}s",
                     format_size(folder_size(r.path)), _note(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_runs_clean(args) -> int:
    """List (or, with ``--yes``, remove) what the rule frees, run by run, and the total."""
    from adaft_core.store.retention import CHECKPOINT, MODEL, format_size, free, parse_age, plan_clean

    what = {"all": (CHECKPOINT, MODEL), "checkpoints": (CHECKPOINT,), "models": (MODEL,)}[args.what]
    age = parse_age(args.older_than) if args.older_than else None
    plan = plan_clean(args.runs, what=what, older_than=age, keep_best=args.keep_best, sweep=args.sweep)
    total = free(plan) if args.yes else sum(item.size for item in plan)
    for item in plan:
        parts = ", ".join(p.name for p in item.parts)
        print(f"{'freed' if args.yes else 'would free'}  {item.run_id}  {parts}  {format_size(item.size)}")
    if not plan:
        print(f"nothing to free in {args.runs}")
    elif args.yes:
        print(f"freed {format_size(total)} in {len(plan)} runs")
    else:
        print(f"would free {format_size(total)} in {len(plan)} runs; nothing removed (add --yes to free it)")
    return 0


def _schema_problem(log) -> str | None:
    """The first event that does not match the event schema (``adaft_core/events/schema.py``), as file:line."""
    from adaft_core.events.schema import log_version, validate_event
    from adaft_core.store.runs import EVENTS_FILE

    version = log_version(log.events)
    for ev, line in zip(log.events, log.lines):
        problems = validate_event(ev, version)
        if problems:
            return f"{EVENTS_FILE}:{line}: {problems[0]}"
    return None


def cmd_runs_show(args) -> int:
    """One run in words: what could be read is printed, damage is named (file:line)."""
    from adaft_core.errors import ConfigError
    from adaft_core.store.run_log import read_log, read_run_json
    from adaft_core.store.runs import EVENTS_FILE, RUN_FILE, find_run, resumes, summarize_run

    path = find_run(args.runs, args.run)
    if args.json:
        info, problem = read_run_json(path / RUN_FILE)
        if problem:
            raise ConfigError(f"{path / RUN_FILE}: {problem}")
        print((path / RUN_FILE).read_text(encoding="utf-8"))
        return 0
    s = summarize_run(path)
    print(f"run {s.run_id}  ({path})")
    if s.status == "unreadable":
        print(f"unreadable: {s.reason}")
    for note in s.notes:
        print(f"note: {note}")
    if s.owner and s.status in ("running", "starting", "interrupted"):
        print(f"owner: process {s.owner.get('pid')} on {s.owner.get('host')}")
    print(f"status {s.status}, task {s.task or '-'}, mode {s.mode or '-'}, strategy {s.strategy or '-'}, "
          f"epochs {_fmt(s.epochs, 'd')}, best epoch {_fmt(epoch_label(s.best_epoch), 'd')}, val {s.metric} "
          f"{_fmt(s.val_score)}, test {s.metric} {_fmt(s.test_score)}")
    log = read_log(path / EVENTS_FILE)
    schema = _schema_problem(log)
    if schema:
        print(f"note: {schema}")
    resumed = {id(ev): (replayed, gap) for ev, replayed, gap in resumes(log.events)}
    for ev in log.events:
        kind = ev["event"]
        if kind == "decision":
            print(f"  epoch {epoch_label(ev.get('epoch', '?')):>3}  {ev.get('phase', '?'):<8} {ev.get('action', '?'):<8} "
                  f"{ev.get('reason', '')}")
        elif kind == "resumed":
            replayed, gap = resumed[id(ev)]
            print(f"  resumed at step {ev.get('step')} (epoch {epoch_label(ev.get('epoch'))}) by process {ev.get('pid')} "
                  f"on {ev.get('host')} after {gap:.0f} s not running; {replayed} logged step"
                  f"{'' if replayed == 1 else 's'} replayed (the later line counts)")
        elif kind == "run_ended":
            if ev.get("error"):
                print(f"  error: {ev['error']}")
            for name, m in (ev.get("eval_data") or {}).items():  # out-of-domain sets (--eval-data)
                print(f"  eval:{name}  {s.metric} {_fmt((m or {}).get(s.metric))}")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.started)) if s.started else "-"
    seen = (f", last seen {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(s.last_seen))}"
            if s.status == "interrupted" and s.last_seen else "")
    down = sum(gap for _, gap in resumed.values())
    stopped = f" (+ {down:.1f} s not running, before its resumes)" if resumed else ""
    print(f"started {started}, wall time {_fmt(s.wall_time, '.1f')} s{stopped}{seen}")
    if s.status == "interrupted":
        print(f"continue it with: adaft train --resume {path}")
    return 0
