"""Sentence-pair corpora written for the classification tests: NLI pairs as JSON lines, STS-like
pairs with scores as TSV (random words, fixed seeds)."""

from __future__ import annotations

import json
import random
from pathlib import Path

NLI = ["entailment", "neutral", "contradiction"]
WORDS = "a man woman dog cat runs sits sleeps in the park on grass near house red blue".split()


def write_jsonl(path: Path, rows) -> Path:
    """``rows`` as JSON lines into ``path``; returns ``path``."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def sentence(rng) -> str:
    """3 to 8 words drawn from WORDS."""
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))


def write_pair_corpus(folder: Path, sizes=(48, 16, 16)) -> None:
    """train/dev/test.jsonl of NLI pairs (the labels in turn, plus one unlabelled '-' row each) in
    ``folder``, and a two-way file with over-long premises beside it (``../two_way.jsonl``)."""
    rng = random.Random(3)
    for name, n in zip(("train.jsonl", "dev.jsonl", "test.jsonl"), sizes):
        rows = [{"premise": sentence(rng), "hypothesis": sentence(rng), "label": NLI[i % 3]} for i in range(n)]
        rows.append({"premise": "no", "hypothesis": "consensus", "label": "-"})
        write_jsonl(folder / name, rows)
    rows = [{"sentence1": " ".join(["long"] * 200), "sentence2": sentence(rng), "gold_label": lab}
            for lab in ("entailment", "not_entailment") * 6]
    write_jsonl(folder.parent / "two_way.jsonl", rows)


def write_sts_corpus(folder: Path) -> None:
    """train/dev/test.tsv of sentence pairs with a similarity score in 0..5."""
    rng = random.Random(4)
    for name, n in (("train.tsv", 48), ("dev.tsv", 16), ("test.tsv", 16)):
        lines = ["sentence1\tsentence2\tscore"]
        lines += [f"{sentence(rng)}\t{sentence(rng)}\t{rng.uniform(0, 5):.2f}" for _ in range(n)]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
