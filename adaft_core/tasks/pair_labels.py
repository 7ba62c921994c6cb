"""Class labels of sentence(-pair) data: the label list, unknown-label checks, label maps.

Labels are matched by *name* everywhere (a Hugging Face ``ClassLabel`` id is turned into its name
when read), so two datasets that order their classes differently still agree.

The label list is the declared ``ClassLabel`` order when the data has one, else the names seen in
the *full* training split (before any ``train_size`` sample, so ids do not change with N), sorted
— numerically when every name is a number (``0, 1, 2, 10``). A validation or test label that the
training split never had is an error: the model has no output for it.

Out-of-domain sets (``--eval-data``) may use other labels than the model. A label map
(``--label-map contradiction=not_entailment,neutral=not_entailment``) is applied to *both* sides
of such a set before scoring: to its gold labels and to the model's predicted label names. With
that map a 3-way NLI model is scored 2-way on entailment vs not_entailment (as SciTail, RTE or HANS
need): predicting ``neutral`` for a ``contradiction`` example counts as right. Every gold label
must, after mapping, be something the model can predict; otherwise the error names the label,
the example's file and line, and the flag to fix it.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from adaft_core.data.pairs import PairExample
from adaft_core.errors import ConfigError, DataError


def label_list(train: Sequence[PairExample], class_names: Sequence[str] | None = None) -> list[str]:
    if class_names:
        return list(class_names)
    names = {str(e.label) for e in train}
    numeric = all(_is_number(n) for n in names)
    return sorted(names, key=(lambda n: (float(n), n)) if numeric else None)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_known(examples: Iterable[PairExample], labels: Sequence[str], split: str) -> None:
    """A ``split`` label that the model cannot predict is an error naming file and line."""
    known = set(labels)
    for e in examples:
        if e.label not in known:
            raise DataError(
                f"{e.where}: the {split} split uses label {e.label!r}, which never occurs in the train "
                f"split, so the model cannot predict it. Train labels: {', '.join(labels)}. To score "
                f"other labels, evaluate that file with --eval-data and map them with --label-map")


def check_label_map(label_map: dict[str, str], labels: Sequence[str], eval_labels: Iterable[str]) -> None:
    """Every key of the map must be a label of the model or of an eval set (catches typos)."""
    known = set(labels) | set(eval_labels)
    unknown = sorted(set(label_map) - known)
    if unknown:
        raise ConfigError(f"label_map maps {', '.join(map(repr, unknown))}, which is neither a label of "
                          f"the training data ({', '.join(labels)}) nor of any --eval-data set")


def mapped_classes(labels: Sequence[str], label_map: dict[str, str]) -> list[str]:
    """The classes an eval set is scored in: the model's label names after the map, first-seen order."""
    out: list[str] = []
    for label in labels:
        name = label_map.get(label, label)
        if name not in out:
            out.append(name)
    return out


def check_eval_labels(examples: Iterable[PairExample], labels: Sequence[str], label_map: dict[str, str],
                      name: str) -> None:
    classes = mapped_classes(labels, label_map)
    for e in examples:
        gold = label_map.get(e.label, e.label)
        if gold not in classes:
            via = f" (mapped to {gold!r})" if gold != e.label else ""
            hint = (f"--label-map {e.label}=<one of: {', '.join(classes)}>" if not label_map
                    else f"extend --label-map so {e.label!r} maps to one of: {', '.join(classes)}")
            raise DataError(
                f"{e.where}: eval set {name!r} has label {e.label!r}{via}, which the model (labels "
                f"{', '.join(labels)}) can never predict; {hint}")
