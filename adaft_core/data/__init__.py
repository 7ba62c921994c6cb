"""Reading data: NER corpora, sentence(-pair) sets, the GLUE task table, subsets.

NER: start with :func:`load_ner_data` (``"wikigold"``, a folder, ``"hf:NAME"``); the other functions
exported here are the pieces it is built from, public so tests and notebooks can use them one by
one. Sentence(-pair) classification reads its data through ``pair_sources.py`` and ``pairs.py``;
``glue.py`` names the GLUE tasks and their metrics; ``subsets.py`` cuts the training and validation
subsets of every task.

May import: errors and the libraries that read data. Never tasks/ (tasks import data), run/ or above.
"""

from adaft_core.data.conll import empty_tokens, read_conll
from adaft_core.data.ner_corpus import (
                                        WIKIGOLD_SPLIT_SEED,
                                        find_split_files,
                                        load_ner_data,
                                        load_wikigold,
                                        split_by_documents,
                                        )
from adaft_core.data.schemes import detect_scheme, io_to_bio, label_list, to_bio, validate_bio
from adaft_core.data.subsets import SUBSET_SEED, take_fraction
from adaft_core.data.types import NerData, Sentence

__all__ = [
    "SUBSET_SEED",
    "WIKIGOLD_SPLIT_SEED",
    "NerData",
    "Sentence",
    "detect_scheme",
    "empty_tokens",
    "find_split_files",
    "io_to_bio",
    "label_list",
    "load_ner_data",
    "load_wikigold",
    "read_conll",
    "split_by_documents",
    "take_fraction",
    "to_bio",
    "validate_bio",
]
