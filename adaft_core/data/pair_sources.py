"""Where sentence(-pair) data comes from: a folder of files, a Hugging Face dataset, one file.

``--data`` (:func:`load_pair_splits`) accepts

1. a folder holding one train, one dev (``dev``/``valid`` in the name) and optionally one test
   file, each ``.jsonl``/``.json``/``.tsv``/``.csv`` (optionally ``.gz``) — e.g. the SNLI folder in
   ``../shared/datasets/snli`` (``snli_train.jsonl``, ``snli_dev.jsonl``, ``snli_test.jsonl``);
2. a folder written by ``DatasetDict.save_to_disk``;
3. ``hf:NAME`` / ``hf:NAME:CONFIG`` / ``glue/TASK`` — a hub dataset (downloads if not cached;
   the only forms that may). Splits ``train``, ``validation`` (or ``validation_matched``, ``dev``)
   and optionally ``test`` (GLUE's unlabelled test rows are dropped, leaving no test split).

``--eval-data`` (:func:`parse_eval_spec`, :func:`load_eval_set`) takes ``[NAME=]SOURCE[@SPLIT]``:
a single file (all its rows), or a folder / dataset as above, whose ``SPLIT`` is used — by
default its test split, or its validation split when the test split has no labelled row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from adaft_core.errors import ConfigError, DataError

from adaft_core.data.glue import glue_task_of
from adaft_core.data.pairs import Columns, PairExample, data_suffix, read_pair_file, rows_to_examples

SPLIT_WORDS = {"train": ("train",), "validation": ("dev", "valid"), "test": ("test",)}
HF_SPLITS = {"train": ("train",), "validation": ("validation", "validation_matched", "dev", "valid"),
             "test": ("test", "test_matched")}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass
class PairSplits:
    """Examples per split (``test`` may be empty), rows dropped for no label, and provenance."""

    name: str
    splits: dict[str, list[PairExample]]
    dropped: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    class_names: list[str] | None = None  # declared class order (a ClassLabel), if any
    glue_task: str | None = None  # recognised from the name (glue/rte, a folder called RTE)


@dataclass(frozen=True)
class EvalSpec:
    name: str
    source: str
    split: str | None = None


def hf_target(spec: str) -> tuple[str, str | None] | None:
    """(dataset, config) for ``hf:NAME[:CONFIG]`` and ``glue/TASK``; None for anything else."""
    s = spec.strip()
    if s.lower().startswith("hf:"):
        name, _, config = s[3:].partition(":")
        if not name:
            raise DataError("'hf:' needs a dataset name, as in 'hf:NAME' or 'hf:NAME:CONFIG'")
    elif re.fullmatch(r"(super_)?glue/\w+", s, re.IGNORECASE) and not Path(s).exists():
        name, config = s, ""
    else:
        return None
    if not config and re.fullmatch(r"(super_)?glue/\w+", name, re.IGNORECASE):
        name, config = name.split("/")
    return name, config or None


def load_pair_splits(spec: str, columns: Columns = Columns(), *, regression: bool = False) -> PairSplits:
    """The train/validation/test examples of ``--data`` (see the module docstring)."""
    target = hf_target(spec)
    path = Path(spec).expanduser()
    if target is None and path.is_dir() and (path / "dataset_dict.json").is_file():
        target = (str(path), None)
    if target is not None:
        data = _hf_splits(*target, from_disk=path.is_dir(), columns=columns, regression=regression)
        data.glue_task = glue_task_of(target[1] or "") or glue_task_of(Path(target[0]).name)
        return data
    if path.is_dir():
        files = find_pair_files(path)
        out = PairSplits(path.name, {"test": []}, glue_task=glue_task_of(path.name))
        for split, file in files.items():
            out.splits[split], out.dropped[split], _ = read_pair_file(file, columns, regression=regression)
            out.sources[split] = str(file)
        return out
    if path.is_file():
        raise DataError(f"{path} is a single file; --data needs a folder with train and dev files "
                        "(and optionally test). A single file can be an --eval-data set")
    raise DataError(f"no file or folder {spec!r}. --data takes a folder of train/dev[/test] "
                    ".jsonl/.tsv/.csv files, a save_to_disk folder, 'hf:NAME[:CONFIG]' or 'glue/TASK'")


def find_pair_files(folder: Path, required=("train", "validation")) -> dict[str, Path]:
    """Split → file in ``folder``, by name: ``train``, ``dev``/``valid``, ``test``; one each."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and data_suffix(p))
    found: dict[str, list[Path]] = {s: [] for s in SPLIT_WORDS}
    for p in files:
        hits = [s for s, words in SPLIT_WORDS.items() if any(w in p.name.lower() for w in words)]
        if len(hits) > 1:
            raise DataError(f"{p}: the name matches several splits ({', '.join(hits)}); rename it")
        for s in hits:
            found[s].append(p)
    listing = ", ".join(p.name for p in files) or "no .jsonl/.json/.tsv/.csv files"
    for s, paths in found.items():
        if len(paths) > 1:
            raise DataError(f"{folder}: several {s} files ({', '.join(p.name for p in paths)}); keep "
                            "one, or name a file directly with --eval-data")
        if not paths and s in required:
            raise DataError(f"{folder}: no {s} file (a name containing "
                            f"{' or '.join(SPLIT_WORDS[s])}); found: {listing}")
    return {s: paths[0] for s, paths in found.items() if paths}


def _hf_splits(name, config, *, from_disk, columns, regression, wanted=("train", "validation", "test")):
    import datasets

    try:
        ds = datasets.load_from_disk(name) if from_disk else datasets.load_dataset(name, config)
    except (OSError, ValueError, ConnectionError) as err:
        raise DataError(f"cannot load dataset {name!r}" + (f" (config {config!r})" if config else "")
                        + f": {err}") from None
    label = name if from_disk else f"hf:{name}" + (f":{config}" if config else "")
    if not isinstance(ds, datasets.DatasetDict):
        ds = datasets.DatasetDict({"test": ds})  # a single saved Dataset: usable as an eval set
    out = PairSplits(label, {"test": []})
    for split in wanted:
        aliases = HF_SPLITS.get(split, (split,))
        present = [a for a in aliases if a in ds]
        if not present:
            if split == "test":
                continue
            raise DataError(f"{label}: no {split} split (looked for {', '.join(aliases)}); "
                            f"splits found: {', '.join(ds)}")
        examples, dropped, names = hf_examples(ds[present[0]], columns, regression, f"{label}[{present[0]}]")
        out.splits[split], out.dropped[split], out.sources[split] = examples, dropped, f"{label}[{present[0]}]"
        out.class_names = out.class_names or names
    return out


def hf_examples(dataset, columns: Columns, regression: bool, source: str):
    """(examples, dropped, ClassLabel names or None) of one ``datasets.Dataset``; rows 1-based."""
    import datasets

    used = columns.resolve(dataset.column_names, source)
    feature = dataset.features.get(used.label) if used.label else None
    names = list(feature.names) if isinstance(feature, datasets.ClassLabel) else None
    cols = [c for c in (used.text, used.text_pair, used.label) if c]
    data = dataset.select_columns(cols)[:]

    def rows():
        for i in range(len(dataset)):
            row = {c: data[c][i] for c in cols}
            if names is not None and used.label:
                value = row[used.label]
                if not isinstance(value, int) or not -1 <= value < len(names):
                    raise DataError(f"{source}:{i + 1}: label {value!r} is not a class id 0..{len(names) - 1}")
                row[used.label] = None if value == -1 else names[value]
            yield i + 1, row

    examples, dropped = rows_to_examples(rows(), used, regression, source)
    return examples, dropped, names


def parse_eval_spec(text: str) -> EvalSpec:
    """``[NAME=]SOURCE[@SPLIT]``; NAME defaults to the file stem / folder / dataset name."""
    text = text.strip()
    name, sep, rest = text.partition("=")
    if not sep or not _NAME.fullmatch(name) or Path(text).exists():
        name, rest = "", text
    source, split = rest, None
    if "@" in rest and not Path(rest).exists():
        source, _, split = rest.rpartition("@")
    if not source:
        raise ConfigError(f"eval_data {text!r}: no source; use [NAME=]FILE_OR_FOLDER_OR_DATASET[@SPLIT]")
    if not name:
        base = re.split(r"[/:]", source.rstrip("/"))[-1]
        base = re.sub(r"(\.gz)?$", "", base)
        base = re.sub(r"\.(jsonl|json|tsv|csv)$", "", base)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", base + (f"_{split}" if split else "")) or "eval"
    return EvalSpec(name, source, split)


def load_eval_set(spec: EvalSpec, columns: Columns = Columns(), *, regression: bool = False):
    """(examples, dropped, source description, ClassLabel names or None) of one ``--eval-data`` set."""
    path = Path(spec.source).expanduser()
    if path.is_file():
        examples, dropped, _ = read_pair_file(path, columns, regression=regression)
        return examples, dropped, str(path), None
    target = hf_target(spec.source)
    if target is None and path.is_dir() and (path / "dataset_dict.json").is_file():
        target = (str(path), None)
    if target is None and path.is_dir() and (path / "dataset_info.json").is_file():
        target = (str(path), None)
    if target is not None:
        splits = [spec.split] if spec.split else ["test", "validation"]
        for split in splits:
            data = _hf_splits(*target, from_disk=path.is_dir(), columns=columns, regression=regression,
                              wanted=(split,))
            if data.splits.get(split):
                return data.splits[split], data.dropped[split], data.sources[split], data.class_names
        raise DataError(f"eval_data {spec.name}: {spec.source} has no labelled rows in split(s) "
                        f"{', '.join(splits)}; name a split with {spec.source}@SPLIT")
    if path.is_dir():
        files = find_pair_files(path, required=())
        split = {"dev": "validation", "valid": "validation"}.get(spec.split or "", spec.split)
        split = split or ("test" if "test" in files else "validation")
        if split not in files:
            raise DataError(f"eval_data {spec.name}: {path} has no {split} file; found: "
                            f"{', '.join(f.name for f in files.values()) or 'none'}")
        examples, dropped, _ = read_pair_file(files[split], columns, regression=regression)
        return examples, dropped, str(files[split]), None
    raise DataError(f"eval_data {spec.name}: no file, folder or dataset {spec.source!r}")
