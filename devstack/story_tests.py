"""`make test-stories`: the conversation tests of tests/conversations/, then what changed.

Runs `rasa test core --e2e` on every test story (the customer texts are parsed by the model, and
every intent, entity and action must come out as written), its log in .data/story-results/
rasa-test.log, and reads what Rasa writes there: story_report.json (precision, recall and F1 of
every action, intent and annotated entity predicted in the stories, and the conversation
accuracy), failed_test_stories.yml and successful_test_stories.yml (the stories, a failed one
with "# predicted: …" after each wrong step), stories_with_warnings.yml and the TEDPolicy_* and
*.png files (not read here). Printed: how many stories passed, each failing story with its first
wrong step (expected, then predicted), and what changed since the previous run
(.data/story-results-history/latest.json): stories that now fail, stories that now pass,
actions and intents whose F1 moved.

Rasa's --fail-on-prediction-errors stops at the first wrong step and writes nothing, so the
stories are run without it and this module fails instead: the exit code is rasa's when it is
not 0, else 1 when a story failed, else 0.

    .venv-rasa/bin/python -m devstack.story_tests [--model PATH] [--stories DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML  # with rasa in .venv-rasa and with rasa-sdk in .venv

from devstack import changes
from devstack.nlu_crossval import display
from devstack.paths import DATA_DIR, RASA_BIN, ROOT

STORIES_DIR = ROOT / "tests" / "conversations"
OUT_DIR = DATA_DIR / "story-results"
HISTORY_DIR = DATA_DIR / "story-results-history"
FAILED_FILE = "failed_test_stories.yml"
PASSED_FILE = "successful_test_stories.yml"
REPORT_FILE = "story_report.json"
LOG_FILE = "rasa-test.log"
RASA_FILES = (FAILED_FILE, PASSED_FILE, REPORT_FILE, "stories_with_warnings.yml")
NOT_LABELS = frozenset({"accuracy", "macro avg", "micro avg", "weighted avg", "conversation_accuracy"})
STORY_FILE = re.compile(r"^(?P<name>.*?)(?: \((?P<file>[^()]+\.ya?ml)\))?$")
PREDICTED = re.compile(r"^\s*-?\s*(?P<step>.*?)\s*# predicted: (?P<predicted>.*)$")


def rasa_command(model: Path, stories: Path, out: Path) -> list[str]:
    return [
        str(RASA_BIN), "test", "core", "--model", str(model), "--stories", str(stories),
        "--e2e", "--successes", "--out", str(out),
    ]  # fmt: skip


# ---------------------------------------------------------------- reading what rasa wrote


def load_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def story_outcomes(text: str, passed: bool) -> dict[str, dict[str, Any]]:
    """Each story of a failed_/successful_test_stories.yml by name: passed?, its first wrong step.

    Rasa names a story "<name> (<its file>)" there and marks a wrong step with a comment,
    "- action: action_show_cart  # predicted: action_show_catalog", which YAML loading drops.
    """
    stories: dict[str, dict[str, Any]] = {}
    name = None
    for line in text.splitlines():
        if line.startswith("- story:"):
            titled = STORY_FILE.match(str(load_yaml(line[2:])["story"]))
            file = display(Path(titled["file"] or ""))
            name = titled["name"] if titled["name"] not in stories else f"{titled['name']} ({file})"
            stories[name] = {"passed": passed, "first_error": None, "file": file}
            continue
        found = PREDICTED.match(line)
        if name is not None and found and stories[name]["first_error"] is None:
            kind, _, expected = found["step"].partition(": ")
            stories[name]["first_error"] = f"{kind}: expected {expected}, predicted {found['predicted']}"
    return stories


def domain_actions(domain: Path) -> set[str]:
    """The domain's actions, responses and forms: story_report.json mixes them with intents."""
    data = load_yaml(domain.read_text(encoding="utf-8")) or {}
    return set(data.get("actions") or []) | set(data.get("responses") or {}) | set(data.get("forms") or {})


def is_action(label: str, actions: set[str]) -> bool:
    return label in actions or label.startswith(("action_", "utter_"))  # rasa's default actions too


def read_results(out: Path, domain: Path) -> dict[str, Any]:
    """What rasa test core wrote into out, as the summary this module prints and keeps."""
    report = json.loads((out / REPORT_FILE).read_text(encoding="utf-8"))
    stories = {}
    for file, passed in ((PASSED_FILE, True), (FAILED_FILE, False)):
        if (out / file).exists():
            stories |= story_outcomes((out / file).read_text(encoding="utf-8"), passed)
    actions = domain_actions(domain)
    f1 = {
        label: round(stats["f1-score"], 4)
        for label, stats in report.items()
        if label not in NOT_LABELS and isinstance(stats, dict) and not label.startswith("[")  # "[2](quantity)"
    }
    return {
        "stories": stories,
        "actions": {label: score for label, score in f1.items() if is_action(label, actions)},
        "intents": {label: score for label, score in f1.items() if not is_action(label, actions)},
        "conversation_accuracy": report.get("conversation_accuracy"),
    }


# ---------------------------------------------------------------- output


def failed(results: dict[str, Any]) -> list[str]:
    return [name for name, story in results["stories"].items() if not story["passed"]]


def summary_lines(results: dict[str, Any]) -> list[str]:
    names = failed(results)
    lines = [f"Conversation tests: {len(results['stories'])} stories, {len(names)} failed"]
    for name in names:
        lines.append(f"  FAILED {name}")
        lines.append(f"    {results['stories'][name]['first_error'] or 'first wrong step: see ' + FAILED_FILE}")
    return lines


def change_lines(previous: dict[str, Any] | None, results: dict[str, Any]) -> list[str]:
    """Stories that now fail or now pass, and actions and intents whose F1 moved."""
    if previous is None:
        return [f"Changes: {changes.NO_PREVIOUS}"]
    before, now = previous.get("stories") or {}, results["stories"]
    lines = [
        changes.header(previous, previous.get("model", "?")),
        f"  {changes.before_after('stories', len(before), len(now))},"
        f" {changes.before_after('failed', len(failed(previous)), len(failed(results)))}",
    ]

    def outcomes(stories: dict[str, dict[str, Any]]) -> dict[str, changes.Outcome]:
        return {name: (s["passed"], s["first_error"] or "passed") for name, s in stories.items()}

    found = changes.flips(
        outcomes(before),
        outcomes(now),
        lambda name, old, new: f"{name}: {new if new != 'passed' else 'was: ' + old}",
        ("now failing", "now passing"),
    )
    added, removed = sorted(now.keys() - before.keys()), sorted(before.keys() - now.keys())
    found += [f"new story {name}: {'passed' if now[name]['passed'] else 'FAILED'}" for name in added]
    found += [f"story gone (removed or renamed): {name}" for name in removed]
    for kind in ("actions", "intents"):
        moves = changes.score_moves(previous.get(kind) or {}, results[kind], changes.SCORE_CHANGE)
        found += [f"{kind[:-1]} {line}" for line in moves]
    lines += changes.indented(found, 2) or [f"  {changes.NO_CHANGE}"]
    return lines


# ---------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.story_tests",
        description="Run the conversation tests with rasa test core --e2e and print what failed and what changed.",
    )
    parser.add_argument("--model", type=Path, help="model archive (default: the one for the current data, trained)")
    parser.add_argument("--stories", type=Path, default=STORIES_DIR, help="test stories (default tests/conversations)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="rasa's output (default .data/story-results)")
    parser.add_argument(
        "--history", type=Path, default=HISTORY_DIR, help="kept runs (default .data/story-results-history)"
    )
    parser.add_argument("--domain", type=Path, default=ROOT / "domain.yml", help="domain (default domain.yml)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.model is None:
        from devstack.model import ensure_model

        args.model = ensure_model()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in RASA_FILES:  # a crashed run must not be read as this one
        (args.out / name).unlink(missing_ok=True)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = rasa_command(args.model.resolve(), args.stories.resolve(), args.out.resolve())
    log = args.out / LOG_FILE  # rasa's own output: warnings, progress bars, a confusion matrix
    print(f"rasa test core --e2e on {display(args.stories)} with {display(args.model)} (log: {display(log)})…")
    with log.open("w") as output:
        code = subprocess.run(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT).returncode
    if not (args.out / REPORT_FILE).exists():
        tail = log.read_text(errors="replace").splitlines()[-30:]
        print("\n".join(tail), file=sys.stderr)
        print(f"rasa test core wrote no {REPORT_FILE} (exit {code}): no summary", file=sys.stderr)
        return code or 1

    results = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": display(args.model),
        **read_results(args.out, args.domain),
    }
    print("\n" + "\n".join(summary_lines(results)))
    print("\n" + "\n".join(change_lines(changes.read_previous(args.history / "latest.json"), results)))
    path = changes.keep_run(results, args.history)
    print(f"\nRasa's output: {display(args.out)}; this summary: {display(path)}")
    return code or (1 if failed(results) else 0)


if __name__ == "__main__":
    sys.exit(main())
