"""Sentence and sentence-pair examples from TSV, CSV and JSON Lines files (optionally ``.gz``).

One record type, :class:`PairExample`, for single sentences (``text_pair`` None) and pairs, with a
class name or a number as its label and the file and line it came from, so a problem found later
(an unknown label in dev) still names where it is.

Columns: with no mapping given, the first pair of columns present among :data:`PAIR_COLUMNS`
(``premise``/``hypothesis``, ``sentence1``/``sentence2``, ``question1``/``question2``, …), else a
single-sentence column (``sentence``, ``text``), and the first label column among
:data:`LABEL_COLUMNS` is used. ``Columns(text=..., text_pair=..., label=...)`` overrides the
detection (``text`` given without ``text_pair`` means single sentences). TSV and CSV files need a
header row; TSV is read without quote handling (as GLUE's TSV files need), CSV with it.

Rows without a label — an empty value, ``null``, ``-`` (SNLI's "no annotator consensus") or, in
Hugging Face data, the id ``-1`` — are dropped and counted, never silently kept or guessed; a
split without a label column counts all its rows as dropped.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from adaft_core.errors import DataError

PAIR_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"), ("question1", "question2"),
                ("question", "sentence"), ("text_a", "text_b"), ("text", "text_pair"))
SINGLE_COLUMNS = ("sentence", "text")
LABEL_COLUMNS = ("label", "gold_label", "labels", "score")
UNLABELLED = ("", "-")
DATA_SUFFIXES = (".jsonl", ".json", ".tsv", ".csv")


@dataclass(frozen=True)
class PairExample:
    """One example: ``text`` (and ``text_pair``), a label (class name, or float for regression)."""

    text: str
    text_pair: str | None
    label: str | float
    source: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True)
class Columns:
    """Which columns hold the text, the optional second text and the label (None: detect)."""

    text: str | None = None
    text_pair: str | None = None
    label: str | None = None

    def resolve(self, names: Iterable[str], source: str) -> "Columns":
        """The columns to read from a table with these column ``names``; a clear error if absent."""
        names = list(names)
        have = set(names)
        if self.text is not None:
            for col in (self.text, self.text_pair):
                if col is not None and col not in have:
                    raise DataError(f"{source}: no column {col!r}; columns found: {', '.join(names)}")
            text, pair = self.text, self.text_pair
        else:
            found = [p for p in PAIR_COLUMNS if p[0] in have and p[1] in have]
            single = [c for c in SINGLE_COLUMNS if c in have]
            if found:
                text, pair = found[0]
            elif single:
                text, pair = single[0], None
            else:
                raise DataError(
                    f"{source}: cannot tell which columns hold the text; columns found: "
                    f"{', '.join(names)}. Name them with --text-column (and --text-pair-column for pairs)")
        if self.label is not None and self.label not in have:
            raise DataError(f"{source}: no label column {self.label!r}; columns found: {', '.join(names)}")
        label = self.label or next((c for c in LABEL_COLUMNS if c in have), None)
        return Columns(text, pair, label)


def open_text(path: Path):
    """Open a UTF-8 text file, transparently decompressing ``.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def data_suffix(path: Path) -> str:
    """``.jsonl`` for ``x.jsonl`` and ``x.jsonl.gz``; '' for files that are not data."""
    name = path.name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    return next((s for s in DATA_SUFFIXES if name.endswith(s)), "")


def iter_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line, row dict) for every record of a TSV/CSV/JSONL/JSON file."""
    suffix = data_suffix(path)
    if not suffix:
        raise DataError(f"{path}: unknown file type; use .tsv, .csv, .jsonl or .json (optionally .gz)")
    try:
        with open_text(path) as f:
            if suffix in (".tsv", ".csv"):
                yield from _table_rows(f, path, suffix)
            else:
                yield from _json_rows(f, path)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the file as UTF-8 text ({exc})") from None


def _table_rows(f, path: Path, suffix: str):
    opts = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if suffix == ".tsv" else {}
    reader = csv.reader(f, **opts)
    header = next(reader, None)
    if not header:
        return
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise DataError(f"{path}:{reader.line_num}: {len(row)} fields but the header has "
                            f"{len(header)} ({', '.join(header)}); a stray tab or quote in the text?")
        yield reader.line_num, dict(zip(header, row))


def _json_rows(f, path: Path):
    text = f.read()
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        lines: Iterable = ((0, r) for r in rows)
    else:
        lines = _json_lines(text, path)
    for line, row in lines:
        if not isinstance(row, dict):
            raise DataError(f"{path}:{line}: expected a JSON object per record, got {type(row).__name__}")
        yield line, row


def _json_lines(text: str, path: Path):
    for line, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            try:
                yield line, json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{line}: invalid JSON ({exc.msg}); each line must be one "
                                "JSON object") from None


def label_value(value: Any, regression: bool, where: str) -> str | float | None:
    """A cell's label: class name (str), number (regression) or None when the row has no label."""
    if value is None or (isinstance(value, str) and value.strip() in UNLABELLED):
        return None
    if regression:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DataError(f"{where}: regression label {value!r} is not a number") from None
        if not math.isfinite(number) or isinstance(value, bool):
            raise DataError(f"{where}: regression label {value!r} is not a finite number")
        return number
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (list, dict)):
        raise DataError(f"{where}: label {value!r} is not a single class name")
    return str(value).strip()


def rows_to_examples(rows: Iterable[tuple[int, dict]], columns: Columns, regression: bool,
                     source: str) -> tuple[list[PairExample], int]:
    """Examples and the number of rows dropped for having no label."""
    examples, dropped = [], 0
    for line, row in rows:
        where = f"{source}:{line}" if line else source
        label = label_value(row.get(columns.label), regression, where) if columns.label else None
        if label is None:
            dropped += 1
            continue
        text = _text(row, columns.text, where)
        pair = _text(row, columns.text_pair, where) if columns.text_pair else None
        examples.append(PairExample(text, pair, label, source, line))
    return examples, dropped


def _text(row: dict, column: str, where: str) -> str:
    value = row.get(column)
    if not isinstance(value, str):
        raise DataError(f"{where}: column {column!r} should hold text, got {value!r}")
    return value


def read_pair_file(path: str | Path, columns: Columns = Columns(), *,
                   regression: bool = False) -> tuple[list[PairExample], int, Columns]:
    """Read one file: (examples, rows dropped for having no label, the columns used)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows = iter_rows(path)
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}: the file holds no records")
    used = columns.resolve(first[1].keys(), str(path))
    examples, dropped = rows_to_examples(_chain(first, rows), used, regression, str(path))
    return examples, dropped, used


def _chain(first, rest):
    yield first
    yield from rest
