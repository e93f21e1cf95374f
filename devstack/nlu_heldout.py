"""Score the trained model's NLU on the held-out messages in tests/nlu/, per language.

tests/nlu/en.yml and tests/nlu/sw.yml (the file stem is the language) are written apart from the
training data: other wording, typos, Sheng, code-switching and product words the training data
does not use. They are never trained on (they are not under data/, which is all that `rasa train`,
the model fingerprint and `make test-nlu`'s cross-validation read).

The model (default: the one for the current data, devstack.model.model_path(); this script never
trains) parses every message. Printed per language: intent accuracy, macro F1 ("nlu_fallback"
counts as wrong), the top confusions with examples, and the shopping requests that went to
goodbye, talk_to_human or out_of_scope (the turns where a customer who wanted to buy is told
goodbye or handed to a person). When a previous run's latest.json exists, what changed since:
intents whose F1 moved by more than 0.02, new and resolved confusions, messages that went from
right to wrong and from wrong to right. A held-out message whose text is also a training example
under data/ is parsed and listed but not scored: it is no longer held out (reword it).

Results go to .data/nlu-heldout/<timestamp>.json and .data/nlu-heldout/latest.json.

    .venv-rasa/bin/python -m devstack.nlu_heldout [--model PATH] [--out DIR] [--min-accuracy 0.95] [--no-gate]

Exit code: 0 when every language reaches --min-accuracy and no shopping request was misrouted,
1 otherwise (with --gate, the default; --no-gate reports and exits 0), 2 when there is no model.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devstack import changes
from devstack.changes import fmt, quoted
from devstack.nlu_crossval import display, nlu_files, quiet_rasa, warnings_hidden
from devstack.paths import DATA_DIR, MODELS_DIR, ROOT

LANGUAGES = ("en", "sw")  # printed in this order; any other tests/nlu/*.yml follows
TESTS_DIR = ROOT / "tests" / "nlu"
OUT_DIR = DATA_DIR / "nlu-heldout"
FALLBACK_INTENT = "nlu_fallback"
SHOPPING_INTENTS = frozenset(
    {
        "search_product",
        "add_to_cart",
        "product_details",
        "browse_catalog",
        "view_cart",
        "checkout",
        "pay_mpesa",
        "pay_card",
    }
)
DEAD_ENDS = frozenset({"goodbye", "talk_to_human", "out_of_scope"})  # a shopper sent away
MIN_ACCURACY = 0.95
F1_CHANGE = changes.SCORE_CHANGE
TOP_CONFUSIONS = 8
WEAK_F1 = 0.8  # intents below it are listed under the table


@dataclass
class Message:
    language: str
    text: str
    expected: str


@dataclass
class Result:
    language: str
    text: str
    expected: str
    predicted: str
    confidence: float
    runner_up: str  # the best intent other than the predicted one (the real guess under nlu_fallback)
    in_training: bool = False  # the same text is a training example: parsed, listed, not scored


# ---------------------------------------------------------------- loading


def language_order(language: str) -> tuple[int, str]:
    return (LANGUAGES.index(language) if language in LANGUAGES else len(LANGUAGES), language)


def load_messages(tests_dir: Path) -> list[Message]:
    """Every intent example of tests_dir/*.yml; rasa's reader strips entity annotations."""
    from rasa.shared.nlu.training_data.loading import load_data

    files = sorted(tests_dir.glob("*.yml"), key=lambda f: language_order(f.stem))
    if not files:
        raise SystemExit(f"no held-out NLU files (*.yml) in {display(tests_dir)}")
    messages = []
    for path in files:
        for example in load_data(str(path)).intent_examples:
            messages.append(Message(path.stem, example.get("text"), example.get("intent")))
    return messages


def duplicates(messages: Sequence[Message]) -> list[str]:
    counts = Counter(m.text.strip().lower() for m in messages)
    return sorted(text for text, n in counts.items() if n > 1)


def training_overlap(messages: Sequence[Message], data_dir: Path) -> set[str]:
    """Held-out texts that are also training examples under data_dir (those are not held out)."""
    from rasa.shared.nlu.training_data.loading import load_data

    trained = set()
    for path in nlu_files(data_dir):
        trained |= {(m.get("text") or "").strip().lower() for m in load_data(str(path)).training_examples}
    return {m.text for m in messages if m.text.strip().lower() in trained}


# ---------------------------------------------------------------- parsing


def parse_all(model: Path, messages: Sequence[Message]) -> tuple[list[Result], set[str], float, float]:
    """Load the model and parse every message: the results, the model's intents, load and parse seconds."""
    with warnings_hidden():
        from rasa.core.agent import Agent

        started = time.monotonic()
        agent = Agent.load(str(model))
        loaded = time.monotonic() - started
        known = set(agent.domain.intents) if agent.domain else set()

        async def parse() -> list[dict[str, Any]]:
            return [await agent.parse_message(m.text) for m in messages]

        started = time.monotonic()
        parsed = asyncio.run(parse())
        parsing = time.monotonic() - started

    results = []
    for message, result in zip(messages, parsed, strict=True):
        intent = result.get("intent") or {}
        predicted = intent.get("name") or ""
        ranking = [r.get("name") for r in result.get("intent_ranking") or [] if r.get("name") != predicted]
        results.append(
            Result(
                message.language,
                message.text,
                message.expected,
                predicted,
                round(float(intent.get("confidence") or 0.0), 3),
                ranking[0] if ranking else "",
            )
        )
    return results, known, loaded, parsing


# ---------------------------------------------------------------- metrics


def per_intent(results: Sequence[Result]) -> dict[str, dict[str, Any]]:
    from sklearn.metrics import precision_recall_fscore_support

    y_true = [r.expected for r in results]
    y_pred = [r.predicted for r in results]
    labels = sorted(set(y_true))  # nlu_fallback and stray predictions only ever count against recall
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }


def confusions(results: Sequence[Result]) -> list[dict[str, Any]]:
    """Every (expected -> predicted) mistake, most frequent first, with examples."""
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in results:
        if r.predicted != r.expected:
            examples[r.expected, r.predicted].append(r.text)
    ordered = sorted(examples.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        {"expected": expected, "predicted": predicted, "count": len(texts), "examples": texts}
        for (expected, predicted), texts in ordered
    ]


def misrouted_shopping(results: Sequence[Result]) -> list[dict[str, Any]]:
    return [
        {"text": r.text, "expected": r.expected, "predicted": r.predicted, "confidence": r.confidence}
        for r in results
        if r.expected in SHOPPING_INTENTS and r.predicted in DEAD_ENDS
    ]


def macro_f1(results: Sequence[Result]) -> float:
    from sklearn.metrics import f1_score

    y_true = [r.expected for r in results]
    y_pred = [r.predicted for r in results]
    return float(f1_score(y_true, y_pred, labels=sorted(set(y_true)), average="macro", zero_division=0))


def language_report(results: Sequence[Result], not_scored: int) -> dict[str, Any]:
    right = sum(r.predicted == r.expected for r in results)
    return {
        "messages": len(results),
        "not_scored": not_scored,
        "accuracy": round(right / len(results), 4) if results else None,
        "f1_macro": round(macro_f1(results), 4) if results else None,
        "fallback": sum(r.predicted == FALLBACK_INTENT for r in results),
        "intents": per_intent(results),
        "confusions": confusions(results),
        "misrouted_shopping": misrouted_shopping(results),
    }


def gate_problems(languages: dict[str, dict[str, Any]], min_accuracy: float) -> list[str]:
    problems = []
    for lang, m in languages.items():
        if m["accuracy"] is None:
            problems.append(f"{lang}: no message scored")
        elif m["accuracy"] < min_accuracy:
            problems.append(f"{lang}: intent accuracy {m['accuracy']:.3f} < {min_accuracy:.2f}")
        if m["misrouted_shopping"]:
            problems.append(
                f"{lang}: {len(m['misrouted_shopping'])} shopping requests sent to {'/'.join(sorted(DEAD_ENDS))}"
            )
    return problems


def build_report(model: Path, results: list[Result], args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    languages = sorted({r.language for r in results}, key=language_order)
    per_language = {
        lang: language_report(
            [r for r in results if r.language == lang and not r.in_training],
            sum(r.language == lang and r.in_training for r in results),
        )
        for lang in languages
    }
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": display(model),
        "tests": display(args.tests),
        "min_accuracy": args.min_accuracy,
        "gate_problems": gate_problems(per_language, args.min_accuracy),
        "languages": per_language,
        "results": [asdict(r) for r in results],
        **extra,
    }


# ---------------------------------------------------------------- output


def print_report(report: dict[str, Any]) -> None:
    languages = report["languages"]
    counts = ", ".join(f"{lang} {m['messages']}" for lang, m in languages.items())
    print(f"\nHeld-out NLU: {report['model']} on {report['tests']} ({counts} messages scored)")
    print("language  messages  intent acc  macro F1  nlu_fallback  shopping misrouted")
    for lang, m in languages.items():
        print(
            f"{lang:<8}  {m['messages']:>8}  {fmt(m['accuracy']):>10}  {fmt(m['f1_macro']):>8}"
            f"  {m['fallback']:>12}  {len(m['misrouted_shopping']):>17}"
        )
    if any(m["not_scored"] for m in languages.values()):
        split = ", ".join(f"{lang} {m['not_scored']}" for lang, m in languages.items())
        print(f"not scored (the same text is a training example in data/): {split}")

    for lang, m in languages.items():
        print(f"\n{lang}: top confusions (expected → predicted: count, examples)")
        if not m["confusions"]:
            print("  none")
        for c in m["confusions"][:TOP_CONFUSIONS]:
            print(f"  {c['expected']} → {c['predicted']}: {c['count']}, {quoted(c['examples'])}")
        if len(m["confusions"]) > TOP_CONFUSIONS:
            rest = m["confusions"][TOP_CONFUSIONS:]
            print(f"  … {len(rest)} more pairs, {sum(c['count'] for c in rest)} messages (in the JSON)")
        weak = sorted((s["f1"], name) for name, s in m["intents"].items() if s["f1"] < WEAK_F1)
        if weak:
            print(f"  intents with F1 < {WEAK_F1}: " + ", ".join(f"{name} {f1:.2f}" for f1, name in weak))

        misrouted = m["misrouted_shopping"]
        print(f"{lang}: shopping requests sent to {'/'.join(sorted(DEAD_ENDS))}: {len(misrouted)}")
        for r in misrouted:
            print(f'  {r["expected"]} → {r["predicted"]} ({r["confidence"]:.2f}): "{r["text"]}"')


def change_lines(previous: dict[str, Any] | None, report: dict[str, Any]) -> list[str]:
    """What changed against the previous run, for a designer checking the effect of an edit."""
    if previous is None:
        return [f"Changes: {changes.NO_PREVIOUS}"]

    def compare(lang: str, before: dict[str, Any], now: dict[str, Any]) -> tuple[str, list[str]]:
        misrouted = len(before["misrouted_shopping"]), len(now["misrouted_shopping"])
        headline = (
            f"{changes.before_after('accuracy', before['accuracy'], now['accuracy'])},"
            f" {changes.before_after('macro F1', before['f1_macro'], now['f1_macro'])},"
            f" {changes.before_after('misrouted shopping', *misrouted)}"
        )
        return headline, changes.score_moves(intent_f1(before), intent_f1(now), F1_CHANGE) + changes.pair_changes(
            confusion_counts(before.get("confusions") or []),
            confusion_counts(now["confusions"]),
            {(c["expected"], c["predicted"]): c["examples"] for c in now["confusions"]},
        )

    found, changed = changes.per_language(previous, report, compare)
    lines = [changes.header(previous, previous.get("model", "?")), *found]

    # A message is the same test when its language, text and expected intent are.
    old_results, now_results = outcomes(previous.get("results") or []), outcomes(report["results"])
    flipped = changes.flips(
        old_results,
        now_results,
        lambda key, old, new: f'{key[0]} "{key[1]}" ({key[2]}): {old} → {new}',
        ("right → wrong (expected intent: previous prediction → this one)", "wrong → right"),
    )
    flipped += changes.unmatched(old_results, now_results, "scored messages", "edited, removed or now in data/")
    lines += changes.indented(flipped, 2)
    if not (changed or flipped):
        lines.append(f"  {changes.NO_CHANGE}")
    return lines


def intent_f1(language: dict[str, Any]) -> dict[str, float]:
    return {name: stats["f1"] for name, stats in (language.get("intents") or {}).items()}


def confusion_counts(confusions: list[dict[str, Any]]) -> dict[changes.Pair, int]:
    return {(c["expected"], c["predicted"]): c["count"] for c in confusions}


def outcomes(results: list[dict[str, Any]]) -> dict[tuple[str, str, str], changes.Outcome]:
    """Each scored message's (right?, prediction), by language, text and expected intent."""
    return {
        (r["language"], r["text"], r["expected"]): (r["predicted"] == r["expected"], r["predicted"])
        for r in results
        if not r.get("in_training")
    }


# ---------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.nlu_heldout",
        description="Parse the held-out messages of tests/nlu/ with the trained model and report per language.",
    )
    parser.add_argument("--model", type=Path, help="model archive (default: the one for the current data in models/)")
    parser.add_argument(
        "--out", type=Path, default=OUT_DIR, help="directory for the JSON results (default .data/nlu-heldout)"
    )
    parser.add_argument("--tests", type=Path, default=TESTS_DIR, help="held-out NLU files (default tests/nlu)")
    parser.add_argument(
        "--min-accuracy",
        type=float,
        default=MIN_ACCURACY,
        help=f"intent accuracy each language must reach (default {MIN_ACCURACY})",
    )
    parser.add_argument(
        "--gate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="exit 1 below --min-accuracy or when a shopping request is misrouted; --no-gate: report only, exit 0",
    )
    return parser.parse_args(argv)


def default_model() -> Path | None:
    """The model for the current data, or None (with a note) when it has not been trained."""
    from devstack.model import model_path

    model = model_path()
    if model.exists():
        return model
    print(f"No model for the current training data ({display(model)}).", file=sys.stderr)
    older = sorted(MODELS_DIR.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if older:
        print(
            f"(newest model in models/, from other data: {display(older[-1])}; pass it with --model to score it)",
            file=sys.stderr,
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    model = args.model.resolve() if args.model else default_model()
    if model is None or not model.exists():
        if model is not None:
            print(f"No model at {model}.", file=sys.stderr)
        print("train first: make chat or python -m devstack.model", file=sys.stderr)
        return 2
    args.tests = args.tests.resolve()

    quiet_rasa()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # custom components (the `bot` package) load with the model

    with warnings_hidden():
        messages = load_messages(args.tests)
        overlap = training_overlap(messages, ROOT / "data")
    counts = Counter(m.language for m in messages)
    print(
        f"{len(messages)} held-out messages ({', '.join(f'{lang} {n}' for lang, n in counts.items())})"
        f" from {display(args.tests)}; loading {display(model)}…",
        flush=True,
    )
    for text in duplicates(messages):
        print(f'note: "{text}" is in the held-out files more than once', flush=True)
    if overlap:
        print(
            f"note: {len(overlap)} held-out messages are also training examples in data/, so they are not scored"
            f" (reword them in {display(args.tests)}): " + quoted(sorted(overlap), 10),
            flush=True,
        )

    results, known, load_s, parse_s = parse_all(model, messages)
    for result in results:
        result.in_training = result.text in overlap
    print(f"model loaded in {load_s:.0f} s, {len(results)} messages parsed in {parse_s:.1f} s", flush=True)
    unknown = Counter((m.expected, m.language) for m in messages if known and m.expected not in known)
    for intent in sorted({intent for intent, _ in unknown}):
        split = ", ".join(f"{lang} {n}" for (name, lang), n in unknown.items() if name == intent)
        print(f"note: the model has no intent {intent} ({split} messages expect it): they count as wrong", flush=True)
    report = build_report(
        model,
        results,
        args,
        training_overlap=sorted(overlap),
        intents_unknown_to_model=sorted({intent for intent, _ in unknown}),
        timings={"load_s": round(load_s, 1), "parse_s": round(parse_s, 1)},
    )
    print_report(report)

    print("\n" + "\n".join(change_lines(changes.read_previous(args.out / "latest.json"), report)))
    path = changes.keep_run(report, args.out)
    print(f"\nresults: {display(path)} (and {display(args.out / 'latest.json')})")

    problems = report["gate_problems"]
    rule = f"intent accuracy >= {args.min_accuracy:.2f} per language, no shopping request misrouted"
    if not problems:
        print(f"gate passed: {rule}")
        return 0
    verdict = "gate FAILED" if args.gate else "gate not met (not enforced: --no-gate)"
    print(f"{verdict}: {rule}")
    for problem in problems:
        print(f"  {problem}")
    return 1 if args.gate else 0


if __name__ == "__main__":
    sys.exit(main())
