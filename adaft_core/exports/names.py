"""The trackers adaft writes to, the extra that installs each, and where they write by default.

Torch-free and import-light: ``adaft_core/settings/config.py`` checks ``report_to`` with :func:`parse_trackers`, and
the CLI checks a tracker's library with :func:`require` before a run starts, so a missing library
is one sentence naming the extra to install, never a traceback in the middle of a run.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from adaft_core.errors import ConfigError

# tracker -> (the module that must import, the adaft extra that installs it)
TRACKERS: dict[str, tuple[str, str]] = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "mlflow": ("mlflow", "mlflow"),
    "trackio": ("trackio", "trackio"),
}
EXPORTS_DIR = "exports"  # <runs>/exports/: not a run folder (runs.NOT_RUNS)
PROJECT = "adaft"  # the MLflow experiment and the trackio project, unless told otherwise


def parse_trackers(value: str | None) -> list[str]:
    """``"tensorboard, mlflow"`` -> ``["tensorboard", "mlflow"]``; None / "" / "none" -> []."""
    if value is None:
        return []
    if not isinstance(value, str):
        raise ConfigError(f"report_to must be tracker names separated by commas, got {value!r}")
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    if names == ["none"]:
        return []
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        raise ConfigError(f"unknown tracker{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                          f"in report_to; valid: {', '.join(TRACKERS)} (comma-separated), or none")
    return list(dict.fromkeys(names))


def require(tracker: str) -> None:
    """A clear error when ``tracker``'s library is not installed (cheap: nothing is imported)."""
    module, extra = TRACKERS[tracker]
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"exporting to {tracker} needs the {module} package, which is not installed: "
                          f"pip install 'adaft[{extra}]'")


def tensorboard_dir(runs_dir: str | Path, logdir: str | Path | None = None) -> Path:
    """TensorBoard's log folder: ``logdir``, else ``<runs>/exports/tensorboard``."""
    return Path(logdir) if logdir else Path(runs_dir) / EXPORTS_DIR / "tensorboard"


def mlflow_uri(runs_dir: str | Path, tracking_uri: str | None = None, logdir: str | Path | None = None) -> str:
    """MLflow's tracking URI: ``tracking_uri``, else ``MLFLOW_TRACKING_URI`` (MLflow's own variable),
    else a SQLite store ``<logdir or runs/exports>/mlflow.db`` (MLflow 3 keeps its file store in
    maintenance mode and refuses it unless MLFLOW_ALLOW_FILE_STORE is set; SQLite is its default)."""
    if tracking_uri:
        return tracking_uri
    if os.environ.get("MLFLOW_TRACKING_URI") and not logdir:
        return os.environ["MLFLOW_TRACKING_URI"]
    folder = Path(logdir) if logdir else Path(runs_dir) / EXPORTS_DIR
    return f"sqlite:///{(folder / 'mlflow.db').resolve()}"


def sqlite_folder(uri: str) -> Path | None:
    """The folder of a ``sqlite:///`` store (its artifacts go beside it), else None."""
    return Path(uri[len("sqlite:///"):]).parent if uri.startswith("sqlite:///") else None
