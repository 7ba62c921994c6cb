"""The data roots hold for every spelling of a source (issue 24, item 1): ``hf:`` and ``glue/``
names are hub ids only, a local folder of such a name must lie under a root, and the one refusal
message says nothing about what lies outside the roots."""

from __future__ import annotations

import os

import pytest

from adaft_core.store.data_roots import check_eval_source, check_source, resolve_roots
from adaft_core.errors import ConfigError


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A data root, a folder outside it holding a secret, and the working folder outside both."""
    root, outside, work = tmp_path / "root", tmp_path / "outside", tmp_path / "work"
    for folder in (root / "mine", outside / "secret", work / "glue" / "rte", work / "secret", work / "x"):
        folder.mkdir(parents=True)
    (outside / "secret" / "train.txt").write_text("SECRET-COLUMN\n")
    monkeypatch.chdir(work)
    return root, outside


REFUSED = ["hf:{outside}/secret", "hf:{outside}", "hf:../outside/secret", "hf:../x", "hf:~/x", "hf:~",
           "hf:./x", "hf:.", "hf:name/../..", "hf:a/b/c", "hf:/etc", "hf:secret", "hf:x:cfg", "hf:glue/../secret",
           "HF:./x", " hf:./x ", "glue/rte", "glue/../../outside/secret", "{outside}/secret", "../outside/secret",
           "~/secret-elsewhere", "hf:name/..", "hf:-x", "hf:x/"]


@pytest.mark.parametrize("spelling", REFUSED)
def test_every_spelling_that_reaches_outside_the_roots_is_refused(place, spelling):
    root, outside = place
    source = spelling.format(outside=outside)
    with pytest.raises(ConfigError) as info:
        check_source(source, [root])
    message = str(info.value)
    assert info.value.setting == "data" and "data roots" in message
    assert "SECRET" not in message and "train.txt" not in message
    assert message == str(_refusal(source, root))  # one wording, whatever is at that path


def _refusal(source: str, root) -> ConfigError:
    """The message for a source that surely does not exist (the same as for one that does)."""
    with pytest.raises(ConfigError) as info:
        check_source("hf:/no/such/place", [root])
    return ConfigError(str(info.value).replace("'hf:/no/such/place'", repr(source.strip())))


@pytest.mark.parametrize("name", ["hf:conll2003", "hf:tner/wnut2017", "hf:glue:rte", "hf:super_glue:boolq",
                                  "hf:nyu-mll/glue:cola", "hf:cnn_dailymail:3.0.0", "glue/mrpc", "super_glue/boolq",
                                  "wikigold", "WikiGold"])
def test_hub_ids_and_shipped_names_pass_unchanged(place, name, tmp_path, monkeypatch):
    root, _ = place
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")  # no local folder shadows the hub name
    assert check_source(name, [root]) == name


def test_a_local_folder_with_a_hub_name_is_read_only_inside_a_root(place, monkeypatch):
    root, _ = place
    (root / "glue" / "rte").mkdir(parents=True)
    (root / "localset").mkdir()
    monkeypatch.chdir(root)  # now ./glue/rte and ./localset lie under the root
    assert check_source("glue/rte", [root]) == str(root / "glue" / "rte")
    assert check_source("hf:localset", [root]) == "hf:localset"
    assert check_eval_source("ood=glue/rte@validation", [root]) == f"ood={root / 'glue' / 'rte'}@validation"
    with pytest.raises(ConfigError) as info:
        check_eval_source("ood=hf:../outside@test", [root])
    assert info.value.setting == "eval_data"


def test_without_roots_nothing_is_restricted(place):
    _, outside = place
    assert check_source(f"hf:{outside}", None) == f"hf:{outside}"
    assert os.path.isdir(outside)
