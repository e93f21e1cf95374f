"""Which earlier model `make chat` finetunes after a small change (devstack/model.py)."""

import json
import os

from devstack import model


def trained(directory, name, *, config, quick, age):
    archive = directory / f"{name}.tar.gz"
    archive.write_bytes(b"model")
    os.utime(archive, (1_000_000 - age, 1_000_000 - age))
    (directory / f"{name}.json").write_text(json.dumps({"config": config, "quick": quick}))
    return archive


def test_the_newest_full_model_of_the_same_config_is_finetuned_before_any_quick_one(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "MODELS_DIR", tmp_path)
    config = model.config_fingerprint()
    trained(tmp_path, "shop-old", config=config, quick=False, age=300)
    full = trained(tmp_path, "shop-new", config=config, quick=False, age=200)
    trained(tmp_path, "shop-newest-quick", config=config, quick=True, age=10)
    trained(tmp_path, "shop-other-config", config="0" * 16, quick=False, age=1)

    assert model.finetuning_base() == full


def test_a_quick_model_is_the_base_only_when_no_full_one_of_this_config_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "MODELS_DIR", tmp_path)
    quick = trained(tmp_path, "shop-a-quick", config=model.config_fingerprint(), quick=True, age=10)
    trained(tmp_path, "shop-b", config="another config", quick=False, age=1)

    assert model.finetuning_base() == quick


def test_no_base_without_a_model_of_this_config_or_with_only_broken_records(tmp_path, monkeypatch):
    monkeypatch.setattr(model, "MODELS_DIR", tmp_path)
    trained(tmp_path, "shop-b", config="another config", quick=False, age=1)
    (tmp_path / "shop-c.json").write_text("{not json")
    (tmp_path / "shop-c.tar.gz").write_bytes(b"model")
    (tmp_path / "shop-gone.json").write_text(json.dumps({"config": model.config_fingerprint(), "quick": False}))

    assert model.finetuning_base() is None


def test_quick_and_full_models_of_the_same_data_have_different_names():
    assert model.model_path(quick=True) != model.model_path()
    assert model.model_path(quick=True).name.endswith("-quick.tar.gz")
