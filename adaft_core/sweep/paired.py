"""Paired comparisons of a sweep's cells against a baseline, seed by seed (issue 19).

A *cell* is every factor but the seed, as in :func:`adaft_core.sweep.aggregate.aggregate`. The
*baseline cell* of a cell is the same cell with the baseline factor set to the baseline value
(``("strategy", "vanilla")``: dps-dense at 1,000 pairs is compared with vanilla at 1,000 pairs).
Runs of the two cells are paired by seed, only the seeds both have a score for; a sweep has one
run per cell and seed. Per cell:

- ``pairs``: the number of such seeds; ``wins`` / ``ties`` / ``losses``: seeds where the cell
  scores above / the same as / below its baseline;
- ``mean_diff``: the mean of cell − baseline over the pairs;
- ``p_value``: the two-sided *exact* Wilcoxon signed-rank test of those differences
  (``scipy.stats.wilcoxon(method="exact")``; zero differences are dropped, scipy's ``"wilcox"``
  rule). It is NaN with fewer than 2 pairs or when every difference is 0: there is nothing to
  rank, and a p of 1 would read as evidence of "no difference" from one or two seeds. With 5 pairs
  the smallest possible p is 0.0625 (all 5 the same sign): 5 seeds can never reach p < 0.05;
- ``std_ratio``: the sample standard deviation (ddof 1) of the cell's paired scores over that of
  the baseline's paired scores (below 1: steadier than the baseline on the same seeds); NaN with
  fewer than 2 pairs or a baseline spread of 0.

The baseline cells themselves are not compared with themselves: 0 pairs, NaN statistics.
Pure pandas + SciPy, torch-free.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from adaft_core.errors import ConfigError

PAIRED_COLUMNS = ("pairs", "wins", "ties", "losses", "mean_diff", "p_value", "std_ratio")


def _check(frame, factors: list[str], baseline: tuple[str, Any]) -> list[str]:
    """The cell factors; a ConfigError for a factor list without seed or a baseline not in the sweep."""
    if "seed" not in factors:
        raise ConfigError(f"paired comparisons pair runs by seed, but the sweep's factors ({', '.join(factors)}) "
                          "do not include seed; vary the seed (e.g. --seed 1,2,3,4,5)")
    cell = [f for f in factors if f != "seed"]
    try:
        factor, value = baseline
    except (TypeError, ValueError):
        raise ConfigError(f"baseline must be (factor, value), e.g. ('strategy', 'vanilla'); got {baseline!r}") from None
    if factor not in cell:
        raise ConfigError(f"baseline factor {factor!r} is not one of the sweep's factors other than seed; "
                          f"choices: {', '.join(cell) or 'none (only the seed varies)'}")
    values = list(dict.fromkeys(frame[factor].tolist()))
    if value not in values:
        raise ConfigError(f"baseline {factor} {value!r} is not in the sweep; choices: {', '.join(map(str, values))}")
    return cell


def _compare(mine, base) -> dict[str, Any]:
    """The paired columns for two score Series indexed by seed."""
    from scipy.stats import wilcoxon

    both = mine.to_frame("mine").join(base.rename("base"), how="inner")
    diff = both["mine"] - both["base"]
    n = len(both)
    p = math.nan
    if n >= 2 and (diff != 0).any():
        p = float(wilcoxon(diff, method="exact").pvalue)
    base_std = both["base"].std(ddof=1) if n >= 2 else math.nan
    ratio = float(both["mine"].std(ddof=1) / base_std) if n >= 2 and base_std > 0 else math.nan
    return {"pairs": n, "wins": int((diff > 0).sum()), "ties": int((diff == 0).sum()),
            "losses": int((diff < 0).sum()), "mean_diff": float(diff.mean()) if n else math.nan,
            "p_value": p, "std_ratio": ratio}


def paired(rows: Sequence[dict[str, Any]], factors: Sequence[str], baseline: tuple[str, Any]):
    """One row per cell (in the order cells first appear): the cell's factors, then ``PAIRED_COLUMNS``.

    ``rows``: one dict per sweep point with its factor values and ``score`` (None: no score,
    skipped). ``factors``: the sweep's factor names, ``seed`` among them. ``baseline``:
    ``(factor, value)``, a factor other than seed and one of its values in ``rows``."""
    import pandas as pd

    factors = list(factors)
    frame = pd.DataFrame(list(rows), columns=[*factors, "score"])
    cell = _check(frame, factors, baseline)
    factor, value = baseline
    frame = frame[frame["score"].notna()].astype({"score": float})
    if frame.empty:
        return pd.DataFrame(columns=[*cell, *PAIRED_COLUMNS])
    groups = {(key if isinstance(key, tuple) else (key,)): part.set_index("seed")["score"]
              for key, part in frame.groupby(cell, sort=False, dropna=False)}
    at = cell.index(factor)
    out = []
    for key, scores in groups.items():
        base_key = key[:at] + (value,) + key[at + 1:]
        if key[at] == value or base_key not in groups:  # the baseline itself, or no baseline runs
            stats = {"pairs": 0, "wins": 0, "ties": 0, "losses": 0,
                     "mean_diff": math.nan, "p_value": math.nan, "std_ratio": math.nan}
        else:
            stats = _compare(scores, groups[base_key])
        out.append({**dict(zip(cell, key)), **stats})
    return pd.DataFrame(out, columns=[*cell, *PAIRED_COLUMNS])


BASELINES = {"strategy": "vanilla", "mode": "original"}  # what a paper compares against, per factor


def default_baseline(factors: dict[str, list]) -> tuple[str, Any] | None:
    """The comparison a reader expects of a grid with seeds: vanilla among the strategies, else
    the original mode among the modes; None when the seed does not vary or neither is in the grid."""
    if len(factors.get("seed", [])) < 2:
        return None
    return next(((f, v) for f, v in BASELINES.items() if v in factors.get(f, []) and len(factors[f]) > 1), None)


def parse_baseline(text: str, factors: dict[str, list]) -> tuple[str, Any]:
    """``"strategy=vanilla"`` → ``("strategy", "vanilla")``, the value typed like the factor's."""
    from adaft_core.sweep.grid import parse_values

    factor, sep, value = str(text).partition("=")
    if not sep or not factor.strip() or not value.strip():
        raise ConfigError(f"--baseline {text!r}: give FACTOR=VALUE, e.g. strategy=vanilla")
    factor = factor.strip()
    if factor not in factors or factor == "seed":
        raise ConfigError(f"--baseline {text!r}: {factor!r} is not a factor of this sweep other than seed; "
                          f"choices: {', '.join(f for f in factors if f != 'seed') or 'none'}")
    return factor, parse_values(factor, value.strip())[0]


def paired_headers(baseline: tuple[str, Any]) -> list[str]:
    """The paired columns' headers as people read them (the first names the baseline)."""
    factor, value = baseline
    named = f"{factor}={str(value).lower()}" if isinstance(value, bool) else value  # "vs False" would say nothing
    return [f"wins/ties/losses vs {named}", "mean diff", "p (Wilcoxon)", "std ratio"]


def paired_text(rec: dict[str, Any]) -> list[str]:
    """A row's paired columns as text, in :func:`paired_headers`' order; '–' where not compared."""
    fmt = lambda x, spec: "–" if x != x else format(x, spec)  # noqa: E731  (NaN: not compared)
    pairs = int(rec.get("pairs") or 0)
    counts = f"{int(rec['wins'])}/{int(rec['ties'])}/{int(rec['losses'])}" if pairs else "–"
    return [counts, fmt(rec["mean_diff"], "+.3f"), fmt(rec["p_value"], ".3f"), fmt(rec["std_ratio"], ".2f")]
