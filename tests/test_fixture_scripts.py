"""The toolkit fixture scripts (tests/data/make_*_reference.py, run elsewhere with the toolkits) still describe the
corpora and training configurations that made the fixtures in tests/data/joeynmt/ and tests/data/opennmt/."""

from __future__ import annotations

import argparse
import copy
import importlib
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from models.importers.common import safe_torch_load

DATA = Path(__file__).parent / "data"
JOEYNMT = ("make_joeynmt_reference", "make_joeynmt_transformer_reference")
OPENNMT = ("make_opennmt_reference", "make_opennmt_transformer_reference")


@pytest.fixture
def scripts(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    """The scripts as modules (importing one runs nothing: its work is under __main__)."""
    monkeypatch.syspath_prepend(str(DATA))  # as `python tests/data/make_….py` puts it first
    return {name: importlib.import_module(name) for name in (*JOEYNMT, *OPENNMT, "reference_common")}


def test_joeynmt_configs_are_those_the_fixtures_were_trained_with(scripts: dict[str, ModuleType]) -> None:
    for script in JOEYNMT:
        for name, spec in scripts[script].MODELS.items():
            saved = (DATA / "joeynmt" / name / "config.yaml").read_text()  # JoeyNMT copies the config it trained with
            found = re.search(r"\n  train: (.+)/train\n", saved)
            assert found is not None
            config = scripts[script].config(Path(found.group(1)), name, copy.deepcopy(spec))
            assert yaml.safe_dump(config, sort_keys=False) == saved, (script, name)


def test_opennmt_configs_are_those_the_fixtures_were_trained_with(scripts: dict[str, ModuleType]) -> None:
    common = scripts["reference_common"]
    for script in OPENNMT:
        for name, spec in scripts[script].MODELS.items():
            opt = vars(safe_torch_load(DATA / "opennmt" / name / "model.pt", (argparse.Namespace,))["opt"])
            config = common.opennmt_config(Path(opt["save_model"]).parent, dict(spec))
            assert opt["dropout"] == [config.pop("dropout")]  # OpenNMT-py keeps a list (one value per phase)
            for corpus, paths in config.pop("data").items():
                assert paths.items() <= opt["data"][corpus].items()  # OpenNMT-py adds its defaults
            assert {key: opt[key] for key in config} == config, (script, name)
            assert opt["train_steps"] == config["train_steps"] == (600 if "transformer" in name else 400)


def test_the_corpus_gives_the_fixtures_vocabulary_order(scripts: dict[str, ModuleType], tmp_path: Path) -> None:
    """Both toolkits list a vocabulary by falling frequency in the training corpus, so its order pins the corpus."""
    common = scripts["reference_common"]
    common.write_corpora(tmp_path, "trg")
    words = {side: (tmp_path / f"train.{side}").read_text().split() for side in ("src", "trg")}
    assert len((tmp_path / "train.src").read_text().splitlines()) == 1500
    assert len((tmp_path / "dev.trg").read_text().splitlines()) == 50
    assert words["trg"] != [w.upper() for w in words["src"]]  # reversed per line, not copied
    assert sorted(words["trg"]) == sorted(w.upper() for w in words["src"])
    order = {side: sorted(set(w), key=lambda t: (-Counter(w)[t], t)) for side, w in words.items()}
    specials = 4  # <unk> <pad> <s> </s>
    for name in ("gru_bahdanau", "transformer_pre"):
        for side in ("src", "trg"):
            assert (DATA / "joeynmt" / name / f"{side}_vocab.txt").read_text().split()[specials:] == order[side]
    vocab = safe_torch_load(DATA / "opennmt" / "transformer" / "model.pt", (argparse.Namespace,))["vocab"]
    assert vocab["src"][specials : specials + 10] == order["src"]
    assert vocab["tgt"][specials : specials + 10] == order["trg"]
