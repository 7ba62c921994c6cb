"""A sweep's grid: which settings vary, their values, the points and their run names.

A grid maps *factors* (a few ``TrainConfig`` settings: mode, strategy, train fraction / size,
seed, dataset, model, learning rate, padding-free on/off, and the strategy options keep fraction and stage steps) to
lists of values; its points are the Cartesian product in
the order the factors were given, the seed varying fastest when it is last. Every other setting
of a point comes from ``settings`` unchanged. A grid comes from comma-separated flag values
(``--mode original,adaptive --seed 1,2,3``) or from a TOML file::

    name = "adaptive-vs-original"      # optional; default derived from the grid
    [grid]
    mode = ["original", "stable", "adaptive"]
    train_fraction = [0.1, 0.25]
    seed = [1, 2, 3]
    [settings]                          # any other `adaft train` setting, passed through
    max_epochs = 30

Everything here is pure and torch-free: bad input is a ConfigError before anything starts.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adaft_core.errors import ConfigError

# factor -> (type of its values, short tag used in run names)
FACTORS: dict[str, tuple[type, str]] = {
    "mode": (str, ""),
    "strategy": (str, ""),
    "train_fraction": (float, "tf"),
    "train_size": (int, "n"),
    "seed": (int, "s"),
    "data": (str, "data-"),
    "model": (str, "model-"),
    "lr": (float, "lr"),
    "keep_fraction": (float, "kf"),
    "stage_steps": (int, "ss"),
    "padding_free": (bool, "pf"),
}
# factors that are strategy options: a point puts them into ``strategy_options``
OPTION_FACTORS = ("keep_fraction", "stage_steps")
_NAME_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass
class Grid:
    """The factors of a sweep with their values, and the settings every point shares."""

    factors: dict[str, list[Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    name: str | None = None

    def point_settings(self, point: dict[str, Any]) -> dict[str, Any]:
        """The settings of one point: the shared ones, its factor values, strategy options merged."""
        options = {k: v for k, v in point.items() if k in OPTION_FACTORS}
        merged = {**self.settings, **{k: v for k, v in point.items() if k not in options}}
        if options:
            merged["strategy_options"] = {**(self.settings.get("strategy_options") or {}), **options}
        return merged

    def points(self) -> list[dict[str, Any]]:
        """Every combination of factor values, in order (the last factor varies fastest)."""
        names = list(self.factors)
        return [dict(zip(names, combo)) for combo in itertools.product(*(self.factors[n] for n in names))]

    def sweep_name(self) -> str:
        """``name`` if given, else one derived from the varied factors (``mode-seed``)."""
        return self.name or "-".join(self.factors) or "sweep"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.sweep_name(), "factors": self.factors, "settings": self.settings}


def parse_values(factor: str, text: str) -> list[Any]:
    """``"0.1,0.25"`` → ``[0.1, 0.25]`` for a factor; a bad or empty value names the factor."""
    if factor not in FACTORS:
        raise ConfigError(f"unknown sweep factor {factor!r}; factors: {', '.join(FACTORS)}")
    kind = FACTORS[factor][0]
    items = [part.strip() for part in str(text).split(",")]
    if not items or any(not item for item in items):
        raise ConfigError(f"--{factor.replace('_', '-')} {text!r}: give comma-separated values, none empty")
    return [_typed(factor, kind, item) for item in items]


def _typed(factor: str, kind: type, value: Any) -> Any:
    if kind is bool:
        text = str(value).strip().lower() if isinstance(value, (bool, str)) else None
        if text not in ("true", "false"):
            raise ConfigError(f"sweep factor {factor!r}: expected true or false, got {value!r}")
        return text == "true"
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"sweep factor {factor!r}: expected text, got {value!r}")
        return value
    if isinstance(value, bool):
        raise ConfigError(f"sweep factor {factor!r}: expected a number, got {value!r}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"sweep factor {factor!r}: expected {'a whole number' if kind is int else 'a number'}, "
                          f"got {value!r}") from None
    if kind is int and isinstance(value, float) and value != number:
        raise ConfigError(f"sweep factor {factor!r}: expected a whole number, got {value!r}")
    return number


def make_grid(factors: dict[str, Any], settings: dict[str, Any] | None = None, name: str | None = None) -> Grid:
    """Check and type a grid; factor values may be lists or comma-separated strings."""
    if not factors:
        raise ConfigError("the sweep grid is empty: vary at least one of " + ", ".join(
            f"--{f.replace('_', '-')}" for f in FACTORS) + " (comma-separated values) or give a TOML file")
    typed: dict[str, list[Any]] = {}
    for factor, values in factors.items():
        if factor not in FACTORS:
            raise ConfigError(f"unknown sweep factor {factor!r}; factors: {', '.join(FACTORS)}")
        if isinstance(values, str):
            values = parse_values(factor, values)
        elif not isinstance(values, (list, tuple)):
            values = [values]
        if not values:
            raise ConfigError(f"sweep factor {factor!r} has no values")
        vals = [_typed(factor, FACTORS[factor][0], v) for v in values]
        if len(set(map(repr, vals))) != len(vals):
            raise ConfigError(f"sweep factor {factor!r} lists a value twice: {vals}")
        typed[factor] = vals
    settings = dict(settings or {})
    both = sorted(set(settings) & set(typed))
    if both:
        raise ConfigError(f"{', '.join(both)} is both a sweep factor and a fixed setting; give it once")
    fixed_options = sorted(set((settings.get("strategy_options") or {})) & set(typed))
    if fixed_options:
        raise ConfigError(f"{', '.join(fixed_options)} is both a sweep factor and a fixed strategy option; "
                          "give it once")
    if "run_name" in settings:
        raise ConfigError("run_name is set by the sweep for each point; use the sweep's name instead")
    if name is not None and not _NAME_OK.fullmatch(name):
        raise ConfigError(f"sweep name {name!r} may use only letters, digits, '.', '_' and '-'")
    return Grid(typed, settings, name)


def read_grid_file(path: str | Path) -> Grid:
    """A grid from a TOML file; a syntax error names the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc.strerror or exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line (\d+)", str(exc))
        line = f":{where.group(1)}" if where else ""
        raise ConfigError(f"{path}{line}: TOML syntax error: {exc}") from None
    unknown = sorted(set(doc) - {"name", "grid", "settings"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level keys {unknown}; expected name, [grid] and [settings]")
    if not isinstance(doc.get("grid", {}), dict) or not isinstance(doc.get("settings", {}), dict):
        raise ConfigError(f"{path}: [grid] and [settings] must be tables")
    return make_grid(doc.get("grid", {}), doc.get("settings", {}), doc.get("name"))


def point_run_name(sweep: str, point: dict[str, Any]) -> str:
    """A deterministic run name: the sweep's name, then each factor's value (``grid-adaptive-tf0.1-s1``)."""
    parts = [sweep]
    for factor, value in point.items():
        tag = FACTORS[factor][1]
        if isinstance(value, bool):
            text = "on" if value else "off"
        else:
            text = _slug(value) if isinstance(value, str) else format(value, "g")
        parts.append(f"{tag}{text}")
    return "-".join(parts)


def _slug(value: str) -> str:
    """A name-safe form of a text value; paths keep their last part plus a short hash."""
    base = re.sub(r"[^A-Za-z0-9._]+", "_", Path(value).name or value).strip("._") or "x"
    if base == value:
        return base
    return f"{base}.{hashlib.sha1(value.encode()).hexdigest()[:6]}"


def grid_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two grids' ``to_dict`` forms, in words (empty: the same grid).

    ``output_dir`` is where the sweep lives, not what it runs (every point gets the runs folder
    it is run in): ``runs`` and ``/abs/path/runs`` name the same sweep."""
    changes = []
    for key in ("factors", "settings"):
        a, b = old.get(key, {}), new.get(key, {})
        for name in sorted(set(a) | set(b)):
            if key == "settings" and name == "output_dir":
                continue
            if a.get(name) != b.get(name):
                changes.append(f"{key[:-1]} {name}: {a.get(name, '(none)')!r} -> {b.get(name, '(none)')!r}")
    return changes


def extend_grid(old: dict[str, Any], new: Grid) -> Grid:
    """``--extend``: the union of old and new factor values (old order first); settings must match."""
    if grid_changes({"settings": old.get("settings", {})}, {"settings": new.settings}):
        raise ConfigError("--extend adds factor values; the fixed settings differ: "
                          + "; ".join(c for c in grid_changes(old, new.to_dict()) if c.startswith("setting")))
    if set(old.get("factors", {})) != set(new.factors):
        raise ConfigError(f"--extend keeps the same factors: the sweep varies {sorted(old.get('factors', {}))}, "
                          f"this call {sorted(new.factors)}")
    merged = {f: list(old["factors"][f]) + [v for v in new.factors[f] if v not in old["factors"][f]]
              for f in old["factors"]}
    return Grid(merged, dict(new.settings), new.sweep_name())
