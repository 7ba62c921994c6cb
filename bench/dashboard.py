"""The dashboard's cost: time per UI tick replaying a 20,000-step run, and the engine's speed with
the live view attached against without.

1. **UI tick.** A 20,000-step adaptive run log (made with the engine's own pure schedule and
   decision functions, or ``--log`` a real ``events.jsonl``) is fed to ``adaft_dashboard.App`` through
   its event source the way a live run arrives — ``--steps-per-tick`` new steps before each tick
   — and every tick (read events, fold them in, redraw inside ``batch_update``) is timed, so the
   late ticks draw 20,000-step curves (downsampled to ≤ 5,000 points per trace). Also timed: the
   first tick of a page opened on the finished log (tail + parse + draw everything at once).
2. **Engine steps/s.** The same short fine-tuning, interleaved ``--repeats`` times: ``plain``
   (training thread, run log only) and ``live`` (training thread + the dashboard's queue sink,
   with ``App.tick`` running at 4 Hz in the main thread, as in a kernel). Steps/s is measured
   between the first and the last ``step`` event of each run.

3. **The served page** (``--page``, :mod:`dashboard_page`): time to the first figure in Chromium,
   ``voila app.ipynb`` against ``adaft dashboard`` with and without its pre-heated kernel, and the
   memory of the server and its kernels after 20 page loads and closes.

Quick smoke test:  python bench/dashboard.py --steps 2000 --repeats 1 --train-fraction 0.05 --out /tmp/d.json
Full measurement:  python bench/dashboard.py            (writes bench/results/dashboard.json and
                                                         the dashboard section of bench/README.md)
The page:          python bench/dashboard.py --page     (bench/results/dashboard-page.json and its
                                                         section of bench/README.md)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))
from readme_section import replace_section  # noqa: E402  (bench/ is on sys.path)



def make_log(steps: int, spe: int = 100) -> list[dict]:
    """A 20k-step adaptive run: loss falls, validation loss bottoms out, cooldowns, restarts, stop."""
    import math

    from dashboard_events import synthetic_run

    from adaft_core.modes import ModeSettings

    epochs = steps // spe
    val = [0.3 + 0.7 * math.exp(-e / 20) + (0.02 if e % 37 in (30, 31) else 0.0) for e in range(epochs)]
    settings = ModeSettings(max_epochs=epochs)
    return synthetic_run("bench-20k", val, spe=spe, settings=settings,
                         loss=lambda s: 0.2 + 2.0 / (1 + s / 300) + 0.05 * math.sin(s))


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_ticks(events: list[dict], steps_per_tick: int) -> dict:
    from adaft_dashboard.app import App

    with tempfile.TemporaryDirectory() as tmp:
        app = App(Path(tmp) / "runs", autostart=False, table_interval=1.0)
        times, i, n_steps = [], 0, 0
        while i < len(events):
            chunk, added = [], 0
            while i < len(events) and added < steps_per_tick:
                chunk.append(events[i])
                added += events[i]["event"] == "step"
                i += 1
            app.source.feed(chunk)
            t0 = time.perf_counter()
            app.tick()
            times.append((time.perf_counter() - t0) * 1000)
            n_steps += added
        last = times[-max(1, len(times) // 10):]  # the ticks drawing the longest curves
        # a page opened on the finished run: the log is tailed from disk, parsed and drawn at once
        run_dir = Path(tmp) / "runs2" / events[0]["run_id"]
        run_dir.mkdir(parents=True)
        with open(run_dir / "events.jsonl", "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in events)
        fresh = App(Path(tmp) / "runs2", autostart=False)
        t0 = time.perf_counter()
        fresh.tick()
        cold = (time.perf_counter() - t0) * 1000
        points = max(len(t.x) for t in fresh.curves.fig.data if t.x is not None)
    return {"steps": n_steps, "ticks": len(times), "steps_per_tick": steps_per_tick,
            "tick_ms_mean": statistics.fmean(times), "tick_ms_median": statistics.median(times),
            "tick_ms_p95": pct(times, 0.95), "tick_ms_max": max(times),
            "tick_ms_last10pct_mean": statistics.fmean(last), "open_finished_log_ms": cold,
            "max_points_per_trace": points}


def train_once(cfg_kw: dict, live: bool, runs_dir: Path, hz: float = 4.0) -> dict:
    from adaft_core import TrainConfig, train

    app = None
    sinks = []
    if live:
        from adaft_dashboard.app import App

        app = App(runs_dir, autostart=False)
        sinks = [app.source.sink()]
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault(
        "r", train(TrainConfig(output_dir=str(runs_dir), **cfg_kw), sinks=sinks)))
    worker.start()
    ticks = []
    while worker.is_alive():
        if app is not None:
            t0 = time.perf_counter()
            app.tick()
            ticks.append((time.perf_counter() - t0) * 1000)
        worker.join(1.0 / hz)
    if app is not None:
        app.tick()
    run_dir = result["r"].run_dir
    times = [json.loads(line)["time"] for line in open(run_dir / "events.jsonl")
             if '"event": "step"' in line]
    return {"steps": len(times), "steps_per_s": (len(times) - 1) / (times[-1] - times[0]),
            "ui_ticks": len(ticks), "ui_tick_ms_mean": statistics.fmean(ticks) if ticks else None}


def bench_engine(args) -> dict:
    cfg = dict(model=args.model, data=args.data, mode="original", max_epochs=args.epochs,
               train_fraction=args.train_fraction, val_fraction=0.1, save_model=False,
               save_checkpoints=False, evaluate_test=False, seed=1)
    out = {"config": cfg, "plain": [], "live": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for variant in (("plain", "live") if r % 2 == 0 else ("live", "plain")):
                res = train_once(cfg, variant == "live", Path(tmp) / f"{variant}-{r}")
                out[variant].append(res)
                print(f"  repeat {r} {variant}: {res['steps_per_s']:.3f} steps/s", flush=True)
    plain = statistics.median(x["steps_per_s"] for x in out["plain"])
    live = statistics.median(x["steps_per_s"] for x in out["live"])
    out.update(plain_steps_per_s=plain, live_steps_per_s=live, slowdown_pct=100 * (plain - live) / plain)
    return out


def readme_section(res: dict) -> str:
    t, e = res["ticks"], res["engine"]
    return f"""
## Dashboard (`bench/dashboard.py`)

{res['machine']}, torch threads {res['torch_threads']}, {time.strftime('%Y-%m-%d', time.localtime(res['time']))}.

UI tick replaying a {t['steps']:,}-step adaptive run ({t['steps_per_tick']} new steps per tick, {t['ticks']} ticks;
each trace downsampled to ≤ {t['max_points_per_trace']:,} points): mean **{t['tick_ms_mean']:.1f} ms**, median
{t['tick_ms_median']:.1f} ms, p95 {t['tick_ms_p95']:.1f} ms, max {t['tick_ms_max']:.1f} ms; the last 10 % of ticks
(longest curves) {t['tick_ms_last10pct_mean']:.1f} ms. Target: under 50 ms. Opening a page on the finished log
(tail, parse and draw all at once): {t['open_finished_log_ms']:.0f} ms.

Engine with the live view attached (queue sink + `App.tick` at 4 Hz in the main thread) against without,
median of {len(e['plain'])} interleaved runs of `{e['config']['model']}`, {e['config']['train_fraction']} of
{e['config']['data']}: {e['plain_steps_per_s']:.3f} → {e['live_steps_per_s']:.3f} steps/s,
**{e['slowdown_pct']:+.1f} %** slower (target: under 2 %).
"""


def main_page(args) -> int:
    from dashboard_page import bench_page, readme_section as page_section

    res = {"time": time.time(), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
           "beside": args.beside,
           **bench_page(make_log(2000), args.loads, args.memory_loads, args.cull_idle, args.layouts.split(","))}
    out = Path(args.out or HERE / "results" / "dashboard-page.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if not isinstance(v, dict)}, indent=1))
    if args.readme and set(args.layouts.split(",")) == {"voila", "no-preheat", "adaft"}:
        replace_section(Path(args.readme), "dashboard-page", page_section(res))
        print(f"wrote {out} and the dashboard page section of {args.readme}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20_000, help="steps of the replayed run")
    ap.add_argument("--steps-per-tick", type=int, default=25, help="new steps arriving between two ticks")
    ap.add_argument("--log", help="replay this events.jsonl instead of the synthetic run")
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--data", default="wikigold")
    ap.add_argument("--train-fraction", type=float, default=0.25)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-engine", action="store_true")
    ap.add_argument("--page", action="store_true",
                    help="only the served page: time to first figure and kernel memory (bench/dashboard_page.py)")
    ap.add_argument("--loads", type=int, default=5, help="--page: page loads timed per layout")
    ap.add_argument("--memory-loads", type=int, default=20, help="--page: page loads and closes before memory")
    ap.add_argument("--cull-idle", type=int, default=4, help="--page: the served dashboard's --cull-idle")
    ap.add_argument("--layouts", default="voila,no-preheat,adaft", help="--page: which servers to compare")
    ap.add_argument("--beside", default="", help="--page: what else ran on the machine meanwhile (for the README)")
    ap.add_argument("--out", default=None, help="default: bench/results/dashboard.json (--page: dashboard-page.json)")
    ap.add_argument("--readme", default=str(HERE / "README.md"), help="'' to leave it alone")
    args = ap.parse_args(argv)
    if args.page:
        return main_page(args)

    import torch

    events = ([json.loads(line) for line in open(args.log)] if args.log else make_log(args.steps))
    print(f"replaying {sum(e['event'] == 'step' for e in events):,} steps ...", flush=True)
    res = {"time": time.time(), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
           "torch_threads": torch.get_num_threads(), "ticks": bench_ticks(events, args.steps_per_tick)}
    print(json.dumps(res["ticks"], indent=1), flush=True)
    if not args.skip_engine:
        print("engine steps/s, plain vs live ...", flush=True)
        res["engine"] = bench_engine(args)
        print(f"plain {res['engine']['plain_steps_per_s']:.3f}  live {res['engine']['live_steps_per_s']:.3f}  "
              f"slowdown {res['engine']['slowdown_pct']:+.2f} %")
    args.out = args.out or str(HERE / "results" / "dashboard.json")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    if args.readme and not args.skip_engine:
        path = Path(args.readme)
        replace_section(path, "dashboard-bench", readme_section(res))
        print(f"wrote {args.out} and the dashboard section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
