"""Train the Rasa model only when its inputs changed since the last one.

A full training (`rasa train`, about 6 minutes on 2 cores) makes `models/shop-<fingerprint>.tar.gz`,
the only kind `make test` uses. For the designers' loop, `make chat` asks for a quick one when a
model of the same config.yml exists: `rasa train --finetune <that model> --epoch-fraction
QUICK_EPOCH_FRACTION` continues the earlier model's training on the changed data for a few epochs
(about 100 s measured on an idle 2-core machine, most of it TensorFlow tracing its graphs, not the
epochs) and makes `models/shop-<fingerprint>-quick.tar.gz`.
Rasa can finetune only when the labels stay the same (no new intent, entity, slot or action);
then, or when finetuning fails for any other reason, a full training runs instead. A quick model is
never the base of a quick one when a full model of the same config exists, so it does not drift
far from a full training.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devstack.paths import MODELS_DIR, RASA_BIN, RASA_DEV, ROOT

INPUTS = ("config.yml", "domain.yml", "data")
QUICK_EPOCH_FRACTION = 0.08  # of config.yml's epochs: 6 of DIET's 70, 4 of TED's 40
QUICK_SUFFIX = "-quick"  # not ".quick": Rasa drops what looks like a file extension from --fixed-model-name


def fingerprint() -> str:
    """A hash of everything `rasa train` reads: the config, the domain and the training data."""
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def config_fingerprint() -> str:
    return hashlib.sha256((ROOT / "config.yml").read_bytes()).hexdigest()[:16]


def model_path(quick: bool = False) -> Path:
    return MODELS_DIR / f"shop-{fingerprint()}{QUICK_SUFFIX if quick else ''}.tar.gz"


def _about(model: Path) -> Path:
    """What a model was trained with, beside it: {"config": <config.yml's hash>, "quick": bool}."""
    return model.with_name(model.name.removesuffix(".tar.gz") + ".json")


def finetuning_base() -> Path | None:
    """The newest model trained with the current config.yml, full ones first."""
    config = config_fingerprint()
    candidates = []
    for about in MODELS_DIR.glob("shop-*.json"):
        try:
            info = json.loads(about.read_text())
        except (OSError, ValueError):
            continue
        model = about.with_name(about.name.removesuffix(".json") + ".tar.gz")
        if info.get("config") == config and model.exists():
            candidates.append((not info.get("quick", False), model.stat().st_mtime, model))
    return max(candidates)[2] if candidates else None


def ensure_model(quiet: bool = False, quick: bool = False) -> Path:
    """The model for the current data, training it first if there is none.

    quick=True (`make chat`): a quick model will do, and finetuning is tried before a full training."""
    full = model_path()
    if not full.exists():
        _from_machine_cache(full)
    if full.exists() or (quick and model_path(quick=True).exists()):
        target = full if full.exists() else model_path(quick=True)
        if not quiet:
            print(f"Model is up to date: {target.relative_to(ROOT)}", flush=True)
        return target
    MODELS_DIR.mkdir(exist_ok=True)
    base = finetuning_base() if quick else None
    if base is not None:
        target = model_path(quick=True)
        print(f"Training data changed: finetuning {base.name} on it (under 2 minutes)…", flush=True)
        # No validation on the quick path (15 s): `rasa data validate` and `make test` do it.
        finetune = ["--finetune", str(base), "--epoch-fraction", str(QUICK_EPOCH_FRACTION), "--skip-validation"]
        if _train(target, finetune, quiet):
            return target
        print("Finetuning cannot take this change (a new intent, entity, slot or action?): training", flush=True)
    print("Training data or config changed: training the model (about 6 minutes on 2 cores)…", flush=True)
    if not _train(full, [], quiet):
        log = training_log(full)
        sys.stderr.write(log.read_text()[-4000:])
        raise RuntimeError(f"rasa train failed; full log in {log}")
    _to_machine_cache(full)
    return full


def machine_cache() -> Path:
    """Full models kept for every checkout of this machine (a fresh clone of unchanged data trains
    nothing), like uv's package cache: under $DUKA_MODEL_CACHE, else ~/.cache/duka/models, in a folder
    per Rasa lock file, since another Rasa trains another model from the same data."""
    root = Path(os.environ.get("DUKA_MODEL_CACHE") or Path.home() / ".cache" / "duka" / "models")
    return root / hashlib.sha256((ROOT / "requirements" / "rasa.lock").read_bytes()).hexdigest()[:16]


MACHINE_CACHE_KEEP = 6  # newest full models kept there (each about 30 MB)


def _from_machine_cache(full: Path) -> None:
    cached = machine_cache() / full.name
    if not cached.exists():
        return
    MODELS_DIR.mkdir(exist_ok=True)
    for source, target in ((_about(cached), _about(full)), (cached, full)):  # the model last: it means "ready"
        if source.exists():
            partial = target.with_name(target.name + ".partial")
            shutil.copyfile(source, partial)
            partial.replace(target)
    print(f"Model for this data found in the machine's cache: {cached}", flush=True)


def _to_machine_cache(full: Path) -> None:
    cache = machine_cache()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for source in (_about(full), full):
            if source.exists():
                partial = cache / (source.name + f".{os.getpid()}.partial")
                shutil.copyfile(source, partial)
                partial.replace(cache / source.name)
        for old in sorted(cache.glob("shop-*.tar.gz"), key=lambda m: m.stat().st_mtime)[:-MACHINE_CACHE_KEEP]:
            old.unlink(missing_ok=True)
            _about(old).unlink(missing_ok=True)
    except OSError as error:  # a full disk or a read-only home: the checkout's own model is enough
        print(f"Could not keep the model in the machine's cache ({error})", flush=True)


def training_log(target: Path) -> Path:
    """Each model's own log, so two trainings at once (two checkouts, a test beside `make chat`) do not mix."""
    return ROOT / ".data" / "train" / (target.name.removesuffix(".tar.gz") + ".log")


def _train(target: Path, extra: list[str], quiet: bool) -> bool:
    rasa = RASA_DEV if extra else [str(RASA_BIN)]  # finetuning loads its base model: eagerly, as make chat does
    command = [
        *rasa, "train",
        "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
        "--out", str(MODELS_DIR), "--fixed-model-name", target.name.removesuffix(".tar.gz"), *extra,
    ]  # fmt: skip
    log = training_log(target)
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as out:
        training = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        next_report = 10
        while training.poll() is None:
            time.sleep(1)
            elapsed = time.monotonic() - started
            if not quiet and elapsed >= next_report:
                print(f"    training… {elapsed:.0f} s (log: {log.relative_to(ROOT)})", flush=True)
                next_report += 10
    if training.returncode != 0 or not target.exists():
        return False
    about = {"config": config_fingerprint(), "quick": bool(extra), "seconds": round(time.monotonic() - started)}
    _about(target).write_text(json.dumps(about))
    print(f"Trained {target.relative_to(ROOT)} in {about['seconds']} s", flush=True)
    return True


if __name__ == "__main__":
    ensure_model(quick="--quick" in sys.argv)
