"""Training examples in Rasa's NLU files (data/nlu/en.yml, sw.yml), read and added line by line.

A file is edited as text, never loaded and dumped again: the designers' comments, blank lines and
order stay as they wrote them. An example is one line `- text` in its intent's `examples: |` block.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from actions.commerce.errors import Refused
from actions.commerce.phones import has_phone

MAX_LENGTH = 300
_INTENT = re.compile(r"^(?P<indent>\s*)- intent:\s*[\"']?(?P<name>[^\"'#\s]+)[\"']?\s*(#.*)?$")
_EXAMPLES = re.compile(r"^\s*examples:\s*\|[-+]?\s*(#.*)?$")
_ITEM = re.compile(r"^(?P<indent>\s*)- (?P<text>.*)$")
_ANNOTATION = re.compile(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})")  # [sugar](product), [2]{"entity": "quantity"}


def plain(example: str) -> str:
    """The words of an example without its entity marks: 'add [2](quantity) [sugar](product)' -> 'add 2 sugar'."""
    return _ANNOTATION.sub(r"\1", example)


def normalised(text: str) -> str:
    """What makes two messages the same for the review and the duplicate check: words, lower case."""
    return " ".join(re.findall(r"\w+", plain(text).casefold()))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


@dataclass(frozen=True)
class _Block:
    intent: str
    lines: tuple[int, ...]  # indices of its non-blank lines
    end: int  # the line a new example goes after: the last example, else `examples: |`
    indent: str  # the examples' indentation


def _block(lines: list[str], start: int, intent: str) -> _Block:
    """The literal block after `examples: |` at `start`: the lines indented deeper than it."""
    floor, content = _indent(lines[start]), []
    for index in range(start + 1, len(lines)):
        if lines[index].strip():
            if _indent(lines[index]) <= floor:
                break
            content.append(index)
    indent = _indent(lines[content[0]]) if content else floor + 2
    return _Block(intent, tuple(content), content[-1] if content else start, " " * indent)


def _blocks(lines: list[str]) -> list[_Block]:
    blocks, intent, index = [], None, 0
    while index < len(lines):
        if found := _INTENT.match(lines[index].rstrip("\r\n")):
            intent = found.group("name")
        elif intent and _EXAMPLES.match(lines[index].rstrip("\r\n")):
            blocks.append(_block(lines, index, intent))
            intent, index = None, blocks[-1].end  # an example reading "- intent: …" is not an intent
        index += 1
    return blocks


def examples(document: str) -> dict[str, list[str]]:
    """Each intent's examples as written (entity marks kept), in the file's order."""
    lines = document.splitlines()
    found: dict[str, list[str]] = {}
    for block in _blocks(lines):
        items = [_ITEM.match(lines[index]) for index in block.lines]
        found.setdefault(block.intent, []).extend(item.group("text").strip() for item in items if item)
    return found


def clean(text: str) -> str:
    """A customer's message as one example line, or Refused saying why it cannot be one."""
    example = " ".join(text.split())  # newlines and tabs would end the YAML line
    example = "".join(c for c in example if unicodedata.category(c) != "Cc")
    if not normalised(example):
        raise Refused("the message has no words to learn from")
    if example.startswith("/"):
        raise Refused("the message is a button's payload, not words a customer typed")
    if len(example) > MAX_LENGTH:
        raise Refused(f"the message is longer than {MAX_LENGTH} characters; add a shorter example by hand")
    if has_phone(example):
        raise Refused(
            "the message holds a phone number, and personal data never goes into the training data: "
            "add an example by hand with a made-up number marked as [0712 345 678](phone_number)"
        )
    if _ANNOTATION.search(example):
        raise Refused("the message looks like an entity mark ([…](…)); add it by hand so Rasa reads it as meant")
    return example


def _by_text(documents: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for file, document in documents.items():
        for intent, written in examples(document).items():
            for example in written:
                found.setdefault(normalised(example), (intent, file))
    return found


@dataclass(frozen=True)
class TrainingSet:
    """What an example is checked against: the domain's intents, the examples every training file
    already has and the held-out test messages (tests/nlu/), all by normalised text."""

    intents: frozenset[str]
    trained: Mapping[str, tuple[str, str]]  # normalised text -> (intent, file)
    held_out: Mapping[str, str]  # normalised text -> file

    @classmethod
    def of(cls, intents: Iterable[str], trained: Mapping[str, str], held_out: Mapping[str, str]) -> TrainingSet:
        """From the text of each training file and of each held-out file, by file name."""
        return cls(frozenset(intents), _by_text(trained), {key: file for key, (_, file) in _by_text(held_out).items()})

    def check(self, example: str, intent: str) -> None:
        if intent not in self.intents:
            raise Refused(f"{intent!r} is not an intent of domain.yml")
        key = normalised(example)
        if key in self.held_out:
            raise Refused(
                f"{example!r} is in the held-out test set ({self.held_out[key]}): it is never trained on, "
                "or the held-out scores would no longer say how the bot does on messages it has not seen"
            )
        if key in self.trained:
            known_intent, file = self.trained[key]
            raise Refused(f"{example!r} is already an example of {known_intent} in {file}")


def with_example(document: str, intent: str, example: str, file: str = "the file") -> str:
    """The document with `example` appended to the intent's examples, every other line unchanged."""
    lines = document.splitlines(keepends=True)
    block = next((b for b in _blocks(lines) if b.intent == intent), None)
    if block is None:
        raise Refused(f"{file} has no examples for {intent}: add the intent's block by hand first")
    if normalised(example) in {normalised(e) for e in examples(document).get(intent, [])}:
        raise Refused(f"{example!r} is already an example of {intent} in {file}")
    if not lines[block.end].endswith("\n"):
        lines[block.end] += "\n"
    lines.insert(block.end + 1, f"{block.indent}- {example}\n")
    return "".join(lines)
