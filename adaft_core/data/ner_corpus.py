"""Load an NER corpus as train/validation/test :class:`NerData`, with BIO tags and subsets.

One entry point, :func:`load_ner_data`, so the CLI, the dashboard and notebooks accept the same
dataset strings and get the same errors before any training starts. Sources, in the order a
``spec`` is tried:

1. a shipped name (``"wikigold"``, case-insensitive) — wins over a folder of the same name;
   write ``./wikigold`` to mean the folder;
2. ``"hf:NAME"`` / ``"hf:NAME:CONFIG"`` — a Hugging Face hub dataset (the only form that downloads);
3. a folder saved with ``DatasetDict.save_to_disk`` (it holds ``dataset_dict.json``);
4. a folder of CoNLL files: see :func:`find_split_files` for how files are matched to splits.

Every split is converted to BIO and validated (:mod:`.schemes`); the label list comes from the
*full* training split, so label ids do not change with ``train_fraction``; a validation/test
label never seen in training is an error (the model would have no output for it).

Subsets (``docs/adaptive.md`` §9): ``train_fraction`` keeps the first
⌊x·N⌋ training sentences of a fixed shuffle, ``val_fraction`` does the same for validation, and
test is never cut (:func:`adaft_core.data.subsets.take_fraction`, shared with classification).
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from importlib import resources
from pathlib import Path

from adaft_core.errors import DataError, choices_message

from adaft_core.data.conll import read_conll
from adaft_core.data.schemes import label_list, to_bio, where
from adaft_core.data.subsets import check_fraction, take_fraction
from adaft_core.data.types import NerData, Sentence

WIKIGOLD_SPLIT_SEED = 2009
SPLITS = ("train", "validation", "test")

_SPLIT_WORDS = {"train": ("train",), "validation": ("dev", "valid"), "test": ("test",)}
_NOT_DATA = re.compile(
    r"^(\.|readme|license|licence|attribution|notice)|\.(md|rst|json|py|cfg|toml|ya?ml|sh|zip|gz|tar)$",
    re.IGNORECASE,
)


def load_ner_data(spec, *, train_fraction: float = 1.0, val_fraction: float = 1.0) -> NerData:
    """Load ``spec`` (see the module docstring), convert to BIO, check, and cut subsets."""
    check_fraction("train_fraction", train_fraction)
    check_fraction("val_fraction", val_fraction)
    name, splits = _load_splits(os.fspath(spec))
    splits = {split: to_bio(sentences) for split, sentences in splits.items()}
    for split, sentences in splits.items():
        if not sentences:
            raise DataError(f"{os.fspath(spec)}: the {split} split is empty (no tagged sentence "
                            "found); check that the file/split holds 'token TAG' lines")
    labels = label_list(splits["train"])
    for split in ("validation", "test"):
        _check_known_labels(splits[split], split, labels)
    train = take_fraction(splits["train"], train_fraction, split="train")
    validation = take_fraction(splits["validation"], val_fraction, split="validation")
    return NerData(name, train, validation, splits["test"], labels)


def load_wikigold() -> dict[str, list[Sentence]]:
    """The shipped WikiGold corpus (CC BY 4.0, see ``wikigold/ATTRIBUTION.md``), split by document.

    The file has no official split, so ours is :func:`split_by_documents` with
    ``seed=WIKIGOLD_SPLIT_SEED`` (2009) over its 145 documents, giving (measured)::

        train  1,196 sentences  104 documents
        dev      257 sentences   17 documents
        test     243 sentences   24 documents   (1,696 sentences in all)

    Tags are returned as in the file (IO); :func:`load_ner_data` converts them to BIO.
    Read with :mod:`importlib.resources` so it works from an installed wheel or zip.
    """
    ref = resources.files(__package__) / "wikigold" / "wikigold.conll.txt"
    with resources.as_file(ref) as path:
        sentences = read_conll(path)
    return split_by_documents(sentences, seed=WIKIGOLD_SPLIT_SEED)


SHIPPED = {"wikigold": load_wikigold}


def split_by_documents(sentences, *, seed: int, train: float = 0.70, dev: float = 0.15) -> dict:
    """Deterministic document-level train/validation/test split, ~``train``/``dev``/rest by sentences.

    Rule: take the distinct ``doc_id`` values in ascending order, shuffle that list with
    ``random.Random(seed).shuffle``, then walk it keeping a running count of sentences already
    assigned: a document goes to *train* while that count is below ``train·N`` (N = all
    sentences), then to *validation* while it is below ``(train+dev)·N``, and the rest to *test*.
    Whole documents stay together (no article leaks across splits); balancing by sentences
    rather than by document count matters because article lengths vary a lot. Each split keeps
    file order.
    """
    sentences = list(sentences)
    sizes = Counter(s.doc_id for s in sentences)
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    assigned, part = 0, {}
    for doc in order:
        total = len(sentences)
        part[doc] = "train" if assigned < train * total else (
            "validation" if assigned < (train + dev) * total else "test")
        assigned += sizes[doc]
    return {split: [s for s in sentences if part[s.doc_id] == split] for split in SPLITS}


def find_split_files(folder: Path) -> dict[str, Path]:
    """Map each split to its file in ``folder`` by name.

    A file belongs to *train* if its name contains ``train``, to *validation* if it contains
    ``dev`` or ``valid`` (so ``validation`` too), to *test* if it contains ``test``; CoNLL-2003's
    ``testa``/``testb`` are validation/test. README/LICENSE, dotfiles and ``.md``/``.json``/...
    files are skipped. WNUT-17 (``wnut17train.conll``, ``emerging.dev.conll``,
    ``emerging.test.annotated``) fits. Zero or several files for a split is an error, listing
    what was found: guessing between two test files would silently change the numbers.
    """
    found: dict[str, list[Path]] = {split: [] for split in SPLITS}
    files = sorted(p for p in folder.iterdir() if p.is_file() and not _NOT_DATA.search(p.name))
    for path in files:
        hits = _splits_named(path.name.lower())
        if len(hits) > 1:
            raise DataError(
                f"{path}: the file name matches several splits ({', '.join(hits)}); rename it "
                "so it names exactly one of train, dev/valid, test"
            )
        for split in hits:
            found[split].append(path)
    listing = ", ".join(p.name for p in files) or "no data files"
    for split, paths in found.items():
        words = " or ".join(f"'{w}'" for w in _SPLIT_WORDS[split])
        if not paths:
            raise DataError(
                f"{folder}: no {split} file (a name containing {words}, e.g. "
                f"{_SPLIT_WORDS[split][0]}.txt); found: {listing}"
            )
        if len(paths) > 1:
            raise DataError(
                f"{folder}: several {split} files ({', '.join(p.name for p in paths)}); keep one "
                f"file whose name contains {words} in the folder"
            )
    return {split: paths[0] for split, paths in found.items()}


def _splits_named(name: str) -> list[str]:
    if "testa" in name:
        return ["validation"]
    if "testb" in name:
        return ["test"]
    return [split for split, words in _SPLIT_WORDS.items() if any(w in name for w in words)]


def _load_splits(spec: str) -> tuple[str, dict[str, list[Sentence]]]:
    """Resolve ``spec`` to (dataset name, {split: sentences}) — raw tags, before BIO checks."""
    key = spec.strip().lower()
    if key in SHIPPED:
        return key, SHIPPED[key]()
    if key.startswith("hf:"):
        name, _, config = spec.strip()[3:].partition(":")
        if not name:
            raise DataError("'hf:' needs a dataset name, as in 'hf:NAME' or 'hf:NAME:CONFIG'")
        from adaft_core.data.hf import load_hf_splits  # imports `datasets` only when asked

        return spec.strip(), load_hf_splits(name, config or None, from_disk=False)
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "dataset_dict.json").is_file():
        from adaft_core.data.hf import load_hf_splits

        return path.name, load_hf_splits(str(path), None, from_disk=True)
    if path.is_dir():
        files = find_split_files(path)
        return path.name, {split: read_conll(file) for split, file in files.items()}
    if path.exists():
        raise DataError(
            f"{path} is a single file, but a dataset needs train, dev and test splits: put them "
            "in one folder as train.txt, dev.txt and test.txt and pass the folder"
        )
    raise DataError(
        choices_message("dataset", spec, SHIPPED)
        + " (shipped), or: a folder holding train/dev/test CoNLL files ('token TAG' per line); "
        "a folder saved with datasets.DatasetDict.save_to_disk with 'tokens' and 'ner_tags'; "
        "'hf:NAME' or 'hf:NAME:CONFIG' for a Hugging Face hub dataset (downloads). "
        f"No file or folder {str(path)!r} exists"
    )


def _check_known_labels(sentences: list[Sentence], split: str, labels: list[str]) -> None:
    known = set(labels)
    for sentence in sentences:
        for i, tag in enumerate(sentence.tags):
            if tag not in known:
                raise DataError(
                    f"{where(sentence, i)}: the {split} split uses label {tag!r}, which never "
                    f"occurs in the train split, so the model cannot predict it. Train labels: "
                    f"{', '.join(labels)}"
                )
