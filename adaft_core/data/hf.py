"""Read Hugging Face ``datasets`` NER data (hub or ``save_to_disk`` folder) into sentences.

Kept apart from :mod:`.ner` so that ``datasets`` (slow to import) is imported only when a user
actually names such a dataset, and so that nothing downloads unless the spec says ``hf:``.

Expected layout, as in the common hub NER datasets (``conll2003``, ``wnut_17``, ``tner/*``):
splits ``train``, ``validation`` (or ``dev``/``valid``) and ``test``; columns ``tokens`` (list of
strings) and ``ner_tags`` (list of ``ClassLabel`` ids whose names are the tags, or the tag
strings themselves). Examples with no tokens are skipped: they carry nothing to learn or score.
Sentences get ``source="NAME[split][row]"`` and ``line=0``, so errors point at the row.
"""

from __future__ import annotations

from adaft_core.errors import DataError

from adaft_core.data.types import Sentence

SPLIT_NAMES = {"train": ("train",), "validation": ("validation", "dev", "valid"), "test": ("test",)}


def load_hf_splits(name: str, config: str | None, *, from_disk: bool) -> dict[str, list[Sentence]]:
    """Load a hub dataset (``from_disk=False``, may download) or a ``save_to_disk`` folder."""
    import datasets

    try:
        if from_disk:
            dataset = datasets.load_from_disk(name)
        else:
            dataset = datasets.load_dataset(name, config)
    except (OSError, ValueError, FileNotFoundError, ConnectionError) as err:
        what = f"dataset folder {name}" if from_disk else f"hub dataset {name!r}" + (
            f" (config {config!r})" if config else ""
        )
        raise DataError(f"cannot load {what}: {err}") from None
    if not isinstance(dataset, datasets.DatasetDict):
        raise DataError(f"{name}: expected a DatasetDict with train/validation/test splits, "
                        f"got a single {type(dataset).__name__}")
    label = name if from_disk else f"hf:{name}" + (f":{config}" if config else "")
    out = {}
    for split, aliases in SPLIT_NAMES.items():
        present = [a for a in aliases if a in dataset]
        if not present:
            raise DataError(
                f"{label}: no {split} split (looked for {', '.join(aliases)}); the dataset has "
                f"splits: {', '.join(dataset) or 'none'}"
            )
        out[split] = _to_sentences(dataset[present[0]], f"{label}[{present[0]}]")
    return out


def _to_sentences(dataset, source: str) -> list[Sentence]:
    """Rows → sentences, mapping ClassLabel ids to their names."""
    missing = [c for c in ("tokens", "ner_tags") if c not in dataset.column_names]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; NER data needs 'tokens' (words) "
            f"and 'ner_tags' (one tag per word). Columns found: {', '.join(dataset.column_names)}"
        )
    names = _tag_names(dataset.features["ner_tags"])
    columns = dataset.select_columns(["tokens", "ner_tags"])[:]
    sentences = []
    for row, (tokens, tags) in enumerate(zip(columns["tokens"], columns["ner_tags"])):
        where = f"{source}[{row}]"
        if len(tokens) != len(tags):
            raise DataError(f"{where}: {len(tokens)} tokens but {len(tags)} ner_tags")
        if not tokens:
            continue
        if names is not None:
            if any(not isinstance(t, int) or not 0 <= t < len(names) for t in tags):
                raise DataError(f"{where}: ner_tags {list(tags)} are not ids 0..{len(names) - 1}")
            tags = [names[t] for t in tags]
        elif any(not isinstance(t, str) for t in tags):
            raise DataError(
                f"{where}: ner_tags are numbers but the dataset has no ClassLabel names to turn "
                "them into tags; cast the column to Sequence(ClassLabel(names=[...])) or store strings"
            )
        sentences.append(Sentence(tuple(map(str, tokens)), tuple(tags), 0, where, 0))
    return sentences


def _tag_names(feature) -> list[str] | None:
    """ClassLabel names of a ``ner_tags`` feature (``List``/``Sequence``/``[ClassLabel]``), or None."""
    import datasets

    inner = feature[0] if isinstance(feature, list) and feature else getattr(feature, "feature", None)
    return list(inner.names) if isinstance(inner, datasets.ClassLabel) else None
