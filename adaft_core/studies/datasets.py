"""Where a study's datasets are, and a small evaluation sample of an NLI folder for quick runs.

``dataset_source(name)``: the shipped ``wikigold`` passes through; ``wnut17``, ``snli`` (the
folders of ``shared/datasets``) are found in ``$ADAFT_DATASETS_DIR`` or, for a source checkout,
in ``shared/datasets`` beside it (the layout the tests and the README use); an existing folder
passes through. Nothing is downloaded.

``nli_eval_sample(source, dest, dev=…, test=…)``: the same folder with its dev and test files cut
to a fixed random sample (the training file is copied whole: ``train_size`` samples from it).
SNLI's dev and test hold ~9,800 pairs each; scoring them takes longer than a small run's
training, so the notebooks' small defaults score a sample and the paper scale the full sets.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

from adaft_core.store.data_roots import is_named_dataset
from adaft_core.errors import DataError

DATASETS_ENV = "ADAFT_DATASETS_DIR"
SAMPLE_MARK = ".sample.json"


def datasets_dirs() -> list[Path]:
    """Folders searched for a dataset named by its folder name, in order."""
    out = []
    if os.environ.get(DATASETS_ENV):
        out.append(Path(os.environ[DATASETS_ENV]).expanduser())
    checkout = Path(__file__).resolve().parents[2]  # <checkout>/adaft_core/studies/datasets.py
    out.append(checkout.parent / "shared" / "datasets")
    return out


def dataset_source(name: str) -> str:
    """The ``data`` setting for ``name``: a shipped or Hugging Face name as is, else a folder."""
    if is_named_dataset(name):
        return name
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    for root in datasets_dirs():
        if (root / name).is_dir():
            return str(root / name)
    raise DataError(f"dataset {name!r} is not shipped with the package and is not a folder: set "
                    f"{DATASETS_ENV} to the folder holding {name}/ (e.g. shared/datasets), or give its path; "
                    f"looked in: {', '.join(str(p) for p in datasets_dirs())}")


def _split_of(name: str) -> str | None:
    low = name.lower()
    if low.startswith(".") or not low.endswith((".jsonl", ".tsv", ".csv")):
        return None
    return next((split for split, words in (("train", ("train",)), ("dev", ("dev", "valid")), ("test", ("test",)))
                 if any(w in low for w in words)), None)


def _sample_lines(src: Path, dst: Path, n: int, seed: int) -> int:
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[:1] if src.suffix != ".jsonl" else []  # TSV/CSV keep their header row
    body = lines[len(header):]
    keep = sorted(random.Random(seed).sample(range(len(body)), min(n, len(body))))
    dst.write_text("".join(header + [body[i] for i in keep]), encoding="utf-8")
    return len(keep)


def nli_eval_sample(source: str | Path, dest: str | Path, *, dev: int = 500, test: int = 1000,
                    seed: int = 0) -> str:
    """``dest``: ``source``'s train file and a seeded random sample of ``dev`` / ``test`` rows
    (file order kept); written once, reused while the same sample is asked for. Returns the
    absolute path (a sweep's ``data`` setting: the same however the runs folder is spelled)."""
    source, dest = Path(dataset_source(str(source))).resolve(), Path(dest).resolve()
    wanted = {"source": str(source), "dev": dev, "test": test, "seed": seed}
    mark = dest / SAMPLE_MARK
    if mark.exists() and json.loads(mark.read_text(encoding="utf-8")) == wanted:
        return str(dest)
    files = {f: _split_of(f.name) for f in sorted(source.iterdir()) if f.is_file()}
    files = {f: s for f, s in files.items() if s}
    if sorted(files.values()) != ["dev", "test", "train"]:
        raise DataError(f"{source}: expected one train, one dev and one test file (.jsonl/.tsv/.csv), "
                        f"found {', '.join(f.name for f in files) or 'none'}")
    dest.mkdir(parents=True, exist_ok=True)
    for f, split in files.items():
        if split == "train":
            shutil.copyfile(f, dest / f.name)
        else:
            _sample_lines(f, dest / f.name, dev if split == "dev" else test, seed)
    mark.write_text(json.dumps(wanted), encoding="utf-8")
    return str(dest)
