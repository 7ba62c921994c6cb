"""Read CoNLL-style ``token TAG`` files into :class:`Sentence` records.

Why a hand-written reader: the real files we ship or point users to are not clean
(see ``shared/datasets/SOURCES.md``), and every defect must end in either a correct reading
or an error that names the file and line *before* training starts:

- WNUT-17 separates most sentences with a line holding only a TAB, so "blank" means
  *whitespace-only*, not ``== ""``.
- WNUT-17 dev has a U+FEFF (byte-order mark) glued to a token (``Dubbz\\ufeff``); a BOM is
  invisible and would create a token the tokenizer and the user can't see, so U+FEFF is removed
  wherever it occurs. A token that was *only* a BOM is an error (nothing sensible is left).
- WikiGold's first article comes *before* the first ``-DOCSTART-`` marker; a reader that starts a
  document only at a marker silently drops it. Here the text before the first marker is
  document 0, and each marker that follows text starts the next document, so ``doc_id`` numbers
  only the documents that hold sentences (0, 1, 2, ... without gaps).
- Social-media corpora hold lines that are a TAB followed by a tag: the token was removed (a
  stripped emoji). Such a line is an *empty token* with that tag — the tokenizer's unknown token
  at encoding time (:func:`adaft_core.tasks.ner_features.encode_sentences`), so every label and
  every gold entity stays as annotated. A line is read that way when it starts with a TAB (an
  empty first column), or starts with a space and holds one column only (no other reading is
  possible); :func:`empty_tokens` counts them.

Columns are separated by spaces or tabs; the token is the first column and the tag the last one,
so files with extra middle columns (POS, chunk, as in CoNLL-2003) read the same way. Only spaces
and tabs split columns, not other Unicode spaces, which can be part of a social-media token. Every
line of a file holds as many columns as its first token line: a line with more or fewer is an
error naming both lines (a token holding a space would otherwise give its second word as the
tag, silently); an empty token's line (it starts with a space or TAB) is read as it can be.
"""

from __future__ import annotations

import re
from pathlib import Path

from adaft_core.errors import DataError

from adaft_core.data.schemes import where
from adaft_core.data.types import Sentence

BOM = "\ufeff"
DOCSTART = "-DOCSTART-"
_COLUMN_SEP = re.compile(r"[ \t]+")


def read_conll(path) -> list[Sentence]:
    """Read one CoNLL-style file; return its sentences in file order.

    Each sentence keeps ``source=str(path)`` and ``line`` = the 1-based line of its first
    token; token ``i`` of a sentence sits on line ``line + i`` (tokens are consecutive lines).
    Tags are returned as written — scheme checks and IO→BIO conversion live in
    :mod:`adaft_core.data.schemes`.

    An empty token (see the module docstring) is read as ``""``. Raises :class:`DataError` for a
    missing/unreadable/non-UTF-8 file, a line with one column that does not start with a space or
    TAB (no tag), a line whose column count differs from the first token line's, or a token that
    is nothing but a byte-order mark.
    """
    path = Path(path)
    lines = _read_lines(path)
    source = str(path)
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    doc_id = 0
    doc_has_text = False
    width = None  # (columns, line) of the file's first token line

    def flush() -> None:
        nonlocal tokens, tags
        if tokens:
            sentences.append(Sentence(tuple(tokens), tuple(tags), doc_id, source, start))
        tokens, tags = [], []

    for number, raw in enumerate(lines, start=1):
        if not raw.replace(BOM, "").strip():  # whitespace-only (or BOM-only) separator line
            flush()
            continue
        columns = _COLUMN_SEP.split(raw.strip(" \t\r\n"))
        if columns[0].replace(BOM, "") == DOCSTART:
            flush()
            if doc_has_text:  # a marker after text starts the next document
                doc_id += 1
                doc_has_text = False
            continue
        if raw[:1] == "\t" or (raw[:1] == " " and len(columns) == 1):
            columns = ["", *columns]  # an empty token: the first column holds nothing
        elif len(columns) < 2:
            raise DataError(
                f"{source}: line {number}: expected 'token TAG' but found one column "
                f"{raw.strip()!r} (the tag, the last column after a space or tab, is missing); "
                "add the tag, or leave the line empty to end a sentence"
            )
        if raw[:1] not in (" ", "\t"):  # an empty token's line is read as it can be
            width = width or (len(columns), number)
            if len(columns) != width[0]:
                raise DataError(
                    f"{source}:{number}: {len(columns)} columns where line {width[1]} has {width[0]}; every "
                    "line of a CoNLL file holds the same columns (token first, tag last), separated by "
                    "spaces or tabs: fix that line (a token holding a space?)"
                )
        token, tag = columns[0].replace(BOM, ""), columns[-1].replace(BOM, "")
        bom_token = bool(columns[0]) and not token
        if bom_token or not tag:
            raise DataError(
                f"{source}: line {number}: the {'token' if bom_token else 'tag'} is only an "
                "invisible byte-order mark (U+FEFF); remove that character or the line"
            )
        if not tokens:
            start = number
        tokens.append(token)
        tags.append(tag)
        doc_has_text = True
    flush()
    return sentences


def empty_tokens(sentences) -> tuple[int, str | None]:
    """How many tokens are empty (read as the unknown token) and where the first one is.

    The place is ``file:line`` for sentences read from a file, else the record's description.
    """
    count, first = 0, None
    for sentence in sentences:
        for i, token in enumerate(sentence.tokens):
            if not token:
                count += 1
                first = first or where(sentence, i)
    return count, first


def _read_lines(path: Path) -> list[str]:
    """The file's lines, with a DataError (not an OSError/UnicodeError) for a bad file."""
    if not path.exists():
        raise DataError(f"data file not found: {path} (check the path; it is read as UTF-8 text)")
    if path.is_dir():
        raise DataError(f"expected a CoNLL file but {path} is a folder")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: not valid UTF-8 ({err.reason}); save the file as UTF-8"
        ) from None
    except OSError as err:
        raise DataError(f"cannot read data file {path}: {err.strerror or err}") from None
    # Split on line ends only: str.splitlines() would also split on U+2028, U+0085, form feeds,
    # ... which can occur inside social-media tokens.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
