"""Tagging schemes: detect IO vs BIO, convert IO to BIO, validate strict BIO (IOB2).

Why strict: the headline metric is seqeval in strict IOB2 mode (``docs/adaptive.md`` §9), which
scores an entity only if it starts with ``B-``. A file in another scheme (IOB1, IOBES/BILOU,
bare type names) would train fine and then score badly without any visible cause, so we refuse
it up front with the file, line and tag, and say what would be valid.

Detection rule: a tag sequence collection is **BIO if any tag starts with ``B-``**, else **IO**.
IO data (WikiGold) is converted by :func:`io_to_bio`; BIO data is validated as it is — a BIO file
is never "repaired", because an ``I-X`` after ``O`` there means the file is not what we think.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Sequence

from adaft_core.errors import DataError

from adaft_core.data.types import Sentence

_BIO_TAG = re.compile(r"^[BI]-(.+)$")
_VALID_FORMS = "'O', 'B-TYPE' (first token of an entity) and 'I-TYPE' (its other tokens)"


def detect_scheme(tag_seqs: Iterable[Sequence[str]]) -> str:
    """``"BIO"`` if any tag starts with ``B-``, otherwise ``"IO"``."""
    return "BIO" if any(tag.startswith("B-") for tags in tag_seqs for tag in tags) else "IO"


def io_to_bio(tags: Sequence[str]) -> tuple[str, ...]:
    """Convert one IO tag sequence to BIO: the first token of each run of a type becomes ``B-``.

    IO cannot mark where one entity ends and a touching entity of the same type begins, so two
    such entities become one span (``I-PER I-PER`` for "Smith Jones" is one PER). That is a loss
    in the source format, not something a converter can undo. Tags that are not ``I-X`` are
    passed through unchanged so that :func:`validate_bio` can report them.
    """
    out: list[str] = []
    previous_type = None
    for tag in tags:
        if tag.startswith("I-"):
            kind = tag[2:]
            out.append(("I-" if kind == previous_type else "B-") + kind)
            previous_type = kind
        else:
            out.append(tag)
            previous_type = None
    return tuple(out)


def where(sentence: Sentence, index: int) -> str:
    """``file:line`` of token ``index`` (files), else the record's own description (datasets)."""
    if sentence.line > 0:
        return f"{sentence.source}:{sentence.line + index}"
    return f"{sentence.source}, token {index + 1}"


def validate_bio(sentences: Iterable[Sentence]) -> None:
    """Raise :class:`DataError` at the first tag that is not strict BIO (IOB2).

    Valid: ``O``; ``B-X``; ``I-X`` only right after ``B-X`` or ``I-X`` of the same type X.
    """
    for sentence in sentences:
        previous = "O"
        for i, tag in enumerate(sentence.tags):
            if tag != "O":
                match = _BIO_TAG.match(tag)
                if match is None:
                    raise DataError(
                        f"{where(sentence, i)}: tag {tag!r} is not a BIO tag; valid forms are "
                        f"{_VALID_FORMS}. Other schemes (IOBES/BILOU, bare type names) must be "
                        "converted to BIO first"
                    )
                kind = match.group(1)
                if tag.startswith("I-") and previous[2:] != kind:
                    raise DataError(
                        f"{where(sentence, i)}: tag {tag!r} follows {previous!r}; in strict BIO "
                        f"(IOB2) an entity starts with 'B-{kind}', and 'I-{kind}' may only follow "
                        f"'B-{kind}' or 'I-{kind}'. This file has B- tags, so it is read as BIO; "
                        "if it is IOB1 (I- starts entities), convert it to IOB2 first"
                    )
            previous = tag


def to_bio(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Detect the scheme of ``sentences`` (as one collection), convert IO to BIO, validate.

    Returns new :class:`Sentence` records; the input is not changed.
    """
    sentences = list(sentences)
    if detect_scheme(s.tags for s in sentences) == "IO":
        sentences = [replace(s, tags=io_to_bio(s.tags)) for s in sentences]
    validate_bio(sentences)
    return sentences


def entity_types(sentences: Iterable[Sentence]) -> set[str]:
    """The entity types (``PER``, ``LOC``, ...) used by BIO-tagged sentences."""
    return {tag[2:] for s in sentences for tag in s.tags if tag != "O"}


def label_list(sentences: Iterable[Sentence]) -> list[str]:
    """``O`` first, then ``B-T, I-T`` for each type T in sorted order (deterministic ids).

    Both B- and I- are listed for every type even if one never occurs, so that label ids
    depend only on the set of types.
    """
    labels = ["O"]
    for kind in sorted(entity_types(sentences)):
        labels += [f"B-{kind}", f"I-{kind}"]
    return labels
