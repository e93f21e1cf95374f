"""make chat's reloader (devstack/reload.py): an edit is retrained once and loaded into the running Rasa."""

import threading
from pathlib import Path

from devstack.reload import Reloader


class Inputs:
    """The model's inputs as a version number the test bumps (an edit)."""

    def __init__(self):
        self.version = 0

    def fingerprint(self):
        return f"v{self.version}"


def reloader(inputs, trained, loaded, said, train=None):
    def default_train():
        model = Path(f"/models/shop-{inputs.fingerprint()}.tar.gz")
        trained.append(model)
        return model

    return Reloader(
        "http://rasa",
        Path("/models/shop-v0.tar.gz"),
        fingerprint=inputs.fingerprint,
        train=train or default_train,
        load=lambda url, model: loaded.append((url, model)),
        say=said.append,
        settle_seconds=0.01,
    )


def test_nothing_is_trained_or_loaded_while_the_inputs_stay_the_same():
    inputs, trained, loaded, said = Inputs(), [], [], []
    r = reloader(inputs, trained, loaded, said)

    assert not r.changed()
    stop = threading.Event()
    stop.set()
    r.watch(stop, poll_seconds=0)
    assert trained == [] and loaded == []


def test_an_edit_is_trained_and_loaded_into_the_running_rasa_once():
    inputs, trained, loaded, said = Inputs(), [], [], []
    r = reloader(inputs, trained, loaded, said)
    inputs.version = 1

    assert r.changed()
    assert r.reload() is True
    assert loaded == [("http://rasa", Path("/models/shop-v1.tar.gz"))]
    assert r.model == Path("/models/shop-v1.tar.gz")
    assert not r.changed()  # the same inputs are not trained again
    assert any("Now answering with" in line for line in said)


def test_a_failed_training_keeps_the_old_model_and_waits_for_the_next_edit():
    inputs, trained, loaded, said = Inputs(), [], [], []

    def broken():
        raise RuntimeError("data/nlu/sw.yml: mapping values are not allowed here")

    r = reloader(inputs, trained, loaded, said, train=broken)
    inputs.version = 1

    assert r.reload() is False
    assert loaded == [] and r.model == Path("/models/shop-v0.tar.gz")
    assert "mapping values" in said[-1] and "old model" in said[-1]
    assert not r.changed()  # not retried in a loop; the next save is a new change
    inputs.version = 2
    assert r.changed()


def test_rasa_refusing_the_model_keeps_the_old_one():
    inputs, trained, said = Inputs(), [], []

    def refuse(url, model):
        raise OSError("connection refused")

    r = reloader(inputs, trained, [], said)
    r.load = refuse
    inputs.version = 1

    assert r.reload() is False
    assert r.model == Path("/models/shop-v0.tar.gz")
    assert "connection refused" in said[-1]


def test_the_watcher_retrains_after_an_edit_and_stops_when_told():
    inputs, trained, loaded, said = Inputs(), [], [], []
    stop = threading.Event()
    r = reloader(inputs, trained, loaded, said)
    r.load = lambda url, model: (loaded.append(model), stop.set())
    watcher = threading.Thread(target=r.watch, args=(stop, 0.01))
    watcher.start()
    inputs.version = 3
    watcher.join(timeout=10)
    alive = watcher.is_alive()
    stop.set()

    assert not alive
    assert loaded == [Path("/models/shop-v3.tar.gz")]
    assert trained == [Path("/models/shop-v3.tar.gz")]
