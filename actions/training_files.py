"""The conversation's training files on disk, for the conversation review: domain.yml's intents, the
examples of data/nlu/*.yml, the held-out messages of tests/nlu/*.yml, and adding an example to
data/nlu/<language>.yml.

A change is made under an exclusive lock on the file (two staff adding at once both land), checked
by loading the result as YAML, and written to a temporary file that then replaces the original, so
Rasa never reads half a file.

Reading them takes about 0.4 s (YAML), and the review page needs them twice: what was read is kept
until a file's inode, size or modification time changes (found by the fuzz suite: the review page
took over a second a request).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from actions.commerce.errors import Refused
from actions.commerce.nlu_examples import TrainingSet


def _intents_of(domain: dict) -> frozenset[str]:
    names = (next(iter(entry)) if isinstance(entry, dict) else entry for entry in domain.get("intents") or [])
    return frozenset(str(name) for name in names)


class TrainingFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._read_last: tuple[tuple, TrainingSet] | None = None

    def _nlu(self, language: str) -> Path:
        return self.root / "data" / "nlu" / f"{language}.yml"

    def _name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _texts(self, folder: str) -> dict[str, str]:
        files = sorted((self.root / folder).glob("*.yml"))
        return {self._name(path): path.read_text(encoding="utf-8") for path in files}

    def _stamp(self) -> tuple:
        """Each file's name, inode, size and modification time: taken before reading, so a change made
        while reading shows as a new stamp next time."""
        paths = [
            self.root / "domain.yml",
            *(p for f in ("data/nlu", "tests/nlu") for p in (self.root / f).glob("*.yml")),
        ]
        return tuple(sorted((p.as_posix(), s.st_ino, s.st_size, s.st_mtime_ns) for p in paths for s in [p.stat()]))

    def _read(self) -> TrainingSet:
        stamp = self._stamp()
        if self._read_last is not None and self._read_last[0] == stamp:
            return self._read_last[1]
        domain = YAML(typ="safe").load((self.root / "domain.yml").read_text(encoding="utf-8")) or {}
        found = TrainingSet.of(_intents_of(domain), self._texts("data/nlu"), self._texts("tests/nlu"))
        self._read_last = (stamp, found)
        return found

    async def current(self) -> TrainingSet:
        return await asyncio.to_thread(self._read)

    def _change(self, language: str, edit: Callable[[str, str], str]) -> str:
        path, name = self._nlu(language), self._name(self._nlu(language))
        if not path.exists():
            raise Refused(f"there is no training file {name}")
        while True:
            with path.open(encoding="utf-8") as locked:
                fcntl.flock(locked, fcntl.LOCK_EX)
                if os.fstat(locked.fileno()).st_ino != path.stat().st_ino:
                    continue  # replaced by the change we waited for: lock the new file
                changed = edit(locked.read(), name)
                try:
                    YAML(typ="safe").load(changed)
                except YAMLError as e:
                    raise Refused(f"the change would break {name} ({e.__class__.__name__}); nothing added") from e
                handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(changed)
                os.chmod(temporary, path.stat().st_mode)
                os.replace(temporary, path)
                return name

    async def change(self, language: str, edit: Callable[[str, str], str]) -> str:
        return await asyncio.to_thread(self._change, language, edit)
