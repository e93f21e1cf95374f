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


def test_a_fresh_checkout_takes_the_model_of_its_data_from_the_machine_cache_without_training(tmp_path, monkeypatch):
    models, cache = tmp_path / "models", tmp_path / "cache"
    monkeypatch.setattr(model, "MODELS_DIR", models)
    monkeypatch.setenv("DUKA_MODEL_CACHE", str(cache))
    name = model.model_path().name
    monkeypatch.setattr(model, "model_path", lambda quick=False: models / (name if not quick else "q.tar.gz"))
    trained_elsewhere = model.machine_cache()
    trained_elsewhere.mkdir(parents=True)
    trained(trained_elsewhere, name.removesuffix(".tar.gz"), config=model.config_fingerprint(), quick=False, age=5)
    monkeypatch.setattr(model, "_train", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained")))

    found = model.ensure_model(quiet=True)

    assert found == models / name and found.read_bytes() == b"model"
    assert json.loads(model._about(found).read_text())["quick"] is False


def test_a_full_training_is_kept_in_the_machine_cache_and_only_the_newest_models_stay(tmp_path, monkeypatch):
    models, cache = tmp_path / "models", tmp_path / "cache"
    models.mkdir()
    monkeypatch.setattr(model, "MODELS_DIR", models)
    monkeypatch.setenv("DUKA_MODEL_CACHE", str(cache))
    kept = model.machine_cache()
    kept.mkdir(parents=True)
    for age in range(model.MACHINE_CACHE_KEEP + 2):
        trained(kept, f"shop-old{age}", config="c", quick=False, age=1000 + age)
    full = trained(models, "shop-new", config="c", quick=False, age=0)

    model._to_machine_cache(full)

    names = sorted(p.name for p in kept.glob("*.tar.gz"))
    assert len(names) == model.MACHINE_CACHE_KEEP and "shop-new.tar.gz" in names
    assert "shop-old7.tar.gz" not in names and (kept / "shop-new.json").exists()
    assert not list(kept.glob("*.partial"))


def test_another_rasa_lock_file_has_another_machine_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DUKA_MODEL_CACHE", str(tmp_path))
    here = model.machine_cache()
    lock = tmp_path / "requirements" / "rasa.lock"
    lock.parent.mkdir()
    lock.write_text("rasa==3.6.0")
    monkeypatch.setattr(model, "ROOT", tmp_path)

    assert model.machine_cache() != here and model.machine_cache().parent == here.parent
