"""Plain data records shared by readers, tasks and the engine."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sentence:
    """One pre-tokenised sentence with one tag per token.

    ``doc_id`` numbers the documents of the source file (0-based, the block before the first
    ``-DOCSTART-`` is document 0 if it holds text); ``source``/``line`` point to where the
    sentence starts, so errors found later can still name the file and line.
    """

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    doc_id: int = 0
    source: str = ""
    line: int = 0


@dataclass
class NerData:
    """Train/validation/test splits of an NER corpus plus its label list.

    ``labels`` is ordered ``O`` first, then ``B-X, I-X`` per entity type sorted by type name,
    so the label ids are deterministic for a given set of types.
    """

    name: str
    train: list[Sentence]
    validation: list[Sentence]
    test: list[Sentence]
    labels: list[str] = field(default_factory=list)
