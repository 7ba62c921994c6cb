"""``adaft export RUN|--sweep NAME --to tensorboard|mlflow|trackio``: a run log into a tracker.

The live counterpart is ``adaft train|sweep --report-to TRACKER[,TRACKER]`` (a setting, declared
in ``adaft_core/settings/config.py``); both write through ``adaft_core/exports``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from adaft_core.errors import ConfigError

EXPORT_EPILOG = """examples:
  adaft export my-run --to tensorboard          # then: tensorboard --logdir runs/exports/tensorboard
  adaft export --sweep study --to mlflow        # then: mlflow ui --backend-store-uri sqlite:///runs/exports/mlflow.db
  adaft export my-run --to mlflow --tracking-uri http://127.0.0.1:5000
  adaft export --sweep study --to trackio       # then: trackio show --project adaft
"""


def add_export_parser(sub) -> None:
    from adaft_core.exports import TRACKERS

    e = sub.add_parser("export", help="write a run or a sweep to TensorBoard, MLflow or trackio",
                       epilog=EXPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Write a run's log (steps, validation, decisions, masks, settings, status) or "
                                   "every run of a sweep to a tracker, through its own library. Exporting a run "
                                   "again replaces its earlier export.")
    e.add_argument("run", nargs="?", metavar="RUN", help="a run id, a unique beginning of one, or a run folder")
    e.add_argument("--sweep", metavar="NAME", help="export every run of this sweep instead (runs/sweeps/NAME)")
    e.add_argument("--to", required=True, choices=tuple(TRACKERS), help="the tracker")
    e.add_argument("--output-dir", default="runs", metavar="RUNS", help="the runs folder (default: %(default)s)")
    e.add_argument("--logdir", metavar="DIR", help="where the tracker's files go: TensorBoard's log folder "
                   "(default: RUNS/exports/tensorboard), MLflow's SQLite store and artifacts (default: RUNS/exports), "
                   "trackio's store (default: trackio's own, TRACKIO_DIR)")
    e.add_argument("--tracking-uri", metavar="URI", help="mlflow: a tracking server or store URI (default: "
                   "MLFLOW_TRACKING_URI, else sqlite:///RUNS/exports/mlflow.db)")
    e.add_argument("--project", metavar="NAME", help="the MLflow experiment / trackio project (default: adaft)")


def cmd_export(args: argparse.Namespace) -> int:
    from adaft_core.exports import Target, require
    from adaft_core.exports.export import export_run, export_sweep

    require(args.to)  # a missing library first: one message naming the extra
    if bool(args.run) == bool(args.sweep):
        raise ConfigError("give a run (adaft export RUN --to ...) or --sweep NAME, not both or neither")
    if args.tracking_uri and args.to != "mlflow":
        raise ConfigError(f"--tracking-uri is MLflow's; {args.to} writes to --logdir")
    target = Target(Path(args.output_dir), logdir=Path(args.logdir) if args.logdir else None,
                    tracking_uri=args.tracking_uri, project=args.project)
    done = export_sweep(args.sweep, args.to, target) if args.sweep else [export_run(args.run, args.to, target)]
    for item in done:
        skipped = f" (skipped: {item.problem})" if item.problem else ""
        print(f"{item.run_id}: {item.events} events -> {args.to} {item.where}{skipped}")
    return 0
