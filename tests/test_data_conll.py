"""CoNLL reader and BIO scheme tests: the real shipped/shared files, then malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaft_core.data import (
                             Sentence,
                             detect_scheme,
                             empty_tokens,
                             io_to_bio,
                             label_list,
                             read_conll,
                             to_bio,
                             validate_bio,
                             )
from adaft_core.errors import DataError

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
WIKIGOLD = DATASETS / "wikigold" / "wikigold.conll.txt"
WNUT = DATASETS / "wnut17"
SHIPPED_WIKIGOLD = Path(__file__).resolve().parents[1] / "adaft_core" / "data" / "wikigold"


def needs(path: Path):
    return pytest.mark.skipif(not path.exists(), reason=f"{path} not present")


def write(tmp_path: Path, text: str, name: str = "data.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_strict_bio(sentences):
    for s in sentences:
        previous = "O"
        for tag in s.tags:
            if tag.startswith("I-"):
                assert previous[2:] == tag[2:], (s.source, s.line, s.tags)
            previous = tag


# ---------------------------------------------------------------- real files


@needs(WIKIGOLD)
def test_wikigold_counts_documents_and_io_to_bio():
    sentences = read_conll(WIKIGOLD)
    assert len(sentences) == 1696
    assert sum(len(s.tokens) for s in sentences) == 39007
    # 145 -DOCSTART- markers, but the last one ends the file with nothing after it, so the
    # sentences fall into 145 documents: the leading block (doc 0) plus 144 marked ones.
    assert sorted({s.doc_id for s in sentences}) == list(range(145))
    first = sentences[0]
    assert first.tokens[0] == "010" and first.doc_id == 0 and first.line == 1
    assert sum(1 for s in sentences if s.doc_id == 0) == 6
    assert not any(tok == "-DOCSTART-" for s in sentences for tok in s.tokens)
    assert detect_scheme(s.tags for s in sentences) == "IO"
    bio = to_bio(sentences)
    assert detect_scheme(s.tags for s in bio) == "BIO"
    assert_strict_bio(bio)
    entities = sum(tag.startswith("B-") for s in bio for tag in s.tags)
    assert entities == 3558  # SOURCES.md: runs of one type
    assert label_list(bio) == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG",
                               "B-PER", "I-PER"]


@needs(WIKIGOLD)
def test_shipped_wikigold_is_a_byte_for_byte_copy():
    for name in ("wikigold.conll.txt", "LICENSE", "README.rst"):
        assert (SHIPPED_WIKIGOLD / name).read_bytes() == (WIKIGOLD.parent / name).read_bytes()
    assert (SHIPPED_WIKIGOLD / "ATTRIBUTION.md").is_file()


@needs(WNUT)
@pytest.mark.parametrize("name, count", [("wnut17train.conll", 3394),
                                         ("emerging.dev.conll", 1009),
                                         ("emerging.test.annotated", 1287)])
def test_wnut17_tab_separators_and_bom(name, count):
    sentences = read_conll(WNUT / name)
    assert len(sentences) == count
    assert not any("\ufeff" in tok or "\ufeff" in tag for s in sentences
                   for tok, tag in zip(s.tokens, s.tags))
    assert detect_scheme(s.tags for s in sentences) == "BIO"
    validate_bio(sentences)
    if name == "emerging.dev.conll":
        hits = [(s, i) for s in sentences for i, t in enumerate(s.tokens) if t == "Dubbz"]
        assert hits and hits[0][0].line + hits[0][1] == 16730
        assert hits[0][0].tags[hits[0][1]] == "B-person"


# ---------------------------------------------------------------- reader rules


def test_columns_docstart_lines_and_separators(tmp_path):
    text = ("Before IN B-PP O\n\n"
            "-DOCSTART- -X- O O\n\n"
            "John NNP B-NP B-PER\nSmith\tNNP\tI-NP\tI-PER\n\t\n"
            "runs  VBZ B-VP\tO\n   \n"
            "-DOCSTART- O\n-DOCSTART- O\n\n"
            "\ufeffParis\ufeff NNP B-NP B-LOC\n")
    sentences = read_conll(write(tmp_path, text))
    assert [s.tokens for s in sentences] == [("Before",), ("John", "Smith"), ("runs",), ("Paris",)]
    assert [s.tags for s in sentences] == [("O",), ("B-PER", "I-PER"), ("O",), ("B-LOC",)]
    assert [s.doc_id for s in sentences] == [0, 1, 1, 2]
    assert [s.line for s in sentences] == [1, 5, 8, 13]
    assert all(s.source == str(tmp_path / "data.txt") for s in sentences)


@pytest.mark.parametrize("text, line, found, first", [
    ("New O\nYork B-LOC\n\nNew York B-LOC\n", 4, 3, 1),  # a token holding a space
    ("-DOCSTART- -X- O O\n\nA NN B-NP O\nB O\n", 4, 2, 3),  # a column lost
    ("\tO\nA O\nB NN O\n", 3, 3, 2),  # an empty token's line does not set the count
])
def test_lines_with_other_column_counts_are_refused_with_file_and_line(tmp_path, text, line, found, first):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_conll(path)
    assert str(info.value).startswith(f"{path}:{line}: {found} columns where line {first} has ")


def test_file_starting_with_docstart_is_document_0(tmp_path):
    sentences = read_conll(write(tmp_path, "-DOCSTART- O\n\nA O\n\n-DOCSTART- O\n\nB O\n"))
    assert [s.doc_id for s in sentences] == [0, 1]


def test_crlf_line_ends(tmp_path):
    sentences = read_conll(write(tmp_path, "A O\r\nB B-X\r\n\r\nC O\r\n"))
    assert [s.tokens for s in sentences] == [("A", "B"), ("C",)]


def test_one_column_line_names_file_and_line(tmp_path):
    path = write(tmp_path, "A O\nB O\n\nC\nD O\n")
    with pytest.raises(DataError, match=r"data\.txt: line 4: expected 'token TAG' but found one column"):
        read_conll(path)


def test_a_line_holding_only_a_tag_is_an_empty_token(tmp_path):
    # line 2: TAB + tag (a stripped emoji); 3: TAB-separated with a middle column; 6: space + tag
    path = write(tmp_path, "Ann\tB-PER\n\tI-PER\n\tNN\tO\nLee\tB-PER\n\t\n ORG_LESS\nx O\n")
    sentences = read_conll(path)
    assert [s.tokens for s in sentences] == [("Ann", "", "", "Lee"), ("", "x")]
    assert [s.tags for s in sentences] == [("B-PER", "I-PER", "O", "B-PER"), ("ORG_LESS", "O")]
    assert empty_tokens(sentences) == (3, f"{path}:2")
    assert empty_tokens(sentences[1:]) == (1, f"{path}:6")
    assert empty_tokens([Sentence(("a", ""), ("O", "O"), source="hf:x[train][4]")]) == (1, "hf:x[train][4], token 2")
    with pytest.raises(DataError, match=r"line 2: expected 'token TAG' but found one column"):
        read_conll(write(tmp_path, "A O\nB\n"))  # no leading space or TAB: the tag is missing

def test_bom_only_token_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"line 2: the token is only an invisible byte-order mark"):
        read_conll(write(tmp_path, "A O\n\ufeff O\n"))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match="data file not found: .*nope.txt"):
        read_conll(tmp_path / "nope.txt")


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("A O\n\nCaf\u00e9 O\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.txt: line 3: not valid UTF-8"):
        read_conll(path)


# ---------------------------------------------------------------- schemes


def test_io_to_bio_runs_and_touching_entities():
    assert io_to_bio(["I-PER", "I-PER", "O", "I-LOC", "I-ORG", "I-ORG", "O", "I-PER"]) == (
        "B-PER", "I-PER", "O", "B-LOC", "B-ORG", "I-ORG", "O", "B-PER")
    # two touching PER entities are indistinguishable in IO: one span
    assert io_to_bio(["I-PER", "I-PER"]) == ("B-PER", "I-PER")
    assert io_to_bio(["O", "PER"]) == ("O", "PER")  # not I-: left for validate_bio to reject


def test_detect_scheme():
    assert detect_scheme([["O", "I-PER"], ["I-LOC"]]) == "IO"
    assert detect_scheme([["O", "I-PER"], ["B-LOC"]]) == "BIO"
    assert detect_scheme([]) == "IO"


def test_io_file_with_i_after_o_is_converted(tmp_path):
    sentences = to_bio(read_conll(write(tmp_path, "A O\nB I-PER\nC I-PER\n")))
    assert sentences[0].tags == ("O", "B-PER", "I-PER")


def test_bio_file_with_i_after_o_is_an_error(tmp_path):
    # Any B- tag makes the file BIO, and then it is validated strictly (IOB2).
    path = write(tmp_path, "A B-PER\nB O\n\nC O\nD I-LOC\n")
    with pytest.raises(DataError, match=r"data\.txt:5: tag 'I-LOC' follows 'O'.*'B-LOC'"):
        to_bio(read_conll(path))


def test_bio_i_after_other_type_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"data\.txt:2: tag 'I-LOC' follows 'B-PER'"):
        to_bio(read_conll(write(tmp_path, "A B-PER\nB I-LOC\n")))


@pytest.mark.parametrize("tag", ["X-PER", "PER", "E-LOC", "B-", "b-PER"])
def test_tag_outside_bio_is_an_error(tmp_path, tag):
    path = write(tmp_path, f"A B-PER\nB O\nC {tag}\n")
    with pytest.raises(DataError, match=rf"data\.txt:3: tag '{tag}' is not a BIO tag; valid forms are 'O', 'B-TYPE'"):
        to_bio(read_conll(path))


def test_bad_tag_in_io_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"data\.txt:2: tag 'LOC' is not a BIO tag"):
        to_bio(read_conll(write(tmp_path, "A I-PER\nB LOC\n")))


def test_validate_bio_on_dataset_records_names_the_row():
    record = Sentence(("a", "b"), ("O", "I-PER"), 0, "hf:x[train][7]", 0)
    with pytest.raises(DataError, match=r"hf:x\[train\]\[7\], token 2: tag 'I-PER' follows 'O'"):
        validate_bio([record])


def test_label_list_order():
    sentences = [Sentence(("a", "b", "c"), ("B-ORG", "O", "B-LOC")), Sentence(("d",), ("I-ORG",))]
    assert label_list(sentences) == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    assert label_list([]) == ["O"]
