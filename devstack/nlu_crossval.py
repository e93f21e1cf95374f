"""Cross-validate the NLU model and report intent and entity quality per language.

The English and Swahili examples (data/nlu/en.yml and data/nlu/sw.yml: the file
stem is the language) are split into N stratified folds (by intent, shuffled with
random_state=1). For each fold the NLU pipeline in config.yml is trained with
`rasa train nlu` on the other folds plus every other NLU file under data/
(synonyms, regexes, lookup tables), and then it parses every held-out example.

Reported per language (en, sw) and overall:
  - intent accuracy, weighted F1 and macro F1 ("nlu_fallback" counts as wrong);
  - entity precision, recall and F1 (micro-averaged): a predicted entity is right
    when its type, start and end match an annotated one (the value is ignored,
    since synonyms map values). Predicted entity types that never occur in the
    training annotations (e.g. `message_language`) are ignored.
Also F1 per entity type, the most frequent intent confusions and example errors.

A table goes to stdout, then what changed since the previous run, per language: the
scores before → after, intents and entity types whose F1 moved by more than 0.02, new
and resolved confusions, and the examples that went from right to wrong or from wrong
to right (every example is parsed once, by the fold that held it out, so two runs are
compared example by example, by text and intent). Everything, with every example's
prediction, goes to a JSON report, .data/nlu-report/<timestamp>.json and latest.json
(the next run's previous). This is a report, not a gate: the exit code is 0 unless
--check is given and a language is below the targets.

Run it in the Rasa environment from the repo root (each fold trains the pipeline,
so 5 folds take about half an hour on 2 cores):

    cd /work/main && .venv-rasa/bin/python -m devstack.nlu_crossval [--folds 5] [--out .data/nlu-report] [--check]

--data-dir, --config and --domain point it at other training data or pipelines.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devstack import changes
from devstack.changes import fmt
from devstack.paths import RASA_BIN, ROOT

LANGUAGES = ("en", "sw")
TARGET_INTENT_F1 = 0.95
TARGET_ENTITY_F1 = 0.90
FALLBACK_INTENT = "nlu_fallback"
TOP_CONFUSIONS = 15
MAX_ERRORS = 30
RANDOM_STATE = 1
MAX_FLIPS = 10  # examples listed per language and direction; a changed example set reshuffles the folds
MIN_CONFUSION = 2  # new or resolved confusions of one example are counted, not listed: folds move them

Span = tuple[str, int, int]  # entity type, start, end


@dataclass
class Example:
    """One annotated example from a language file."""

    language: str
    text: str
    intent: str
    entities: list[dict[str, Any]]  # entity, value, start, end
    message: Any  # the rasa Message, written back out for training


@dataclass
class Prediction:
    """What the model of one fold made of one held-out example."""

    example: Example
    fold: int
    intent: str
    confidence: float
    entities: list[dict[str, Any]]  # entity, value, start, end (known entity types only)


@dataclass
class Corpus:
    """The evaluated examples and what every fold trains on besides them."""

    examples: list[Example]
    background: Any  # rasa TrainingData: synonyms, regexes, lookups, other files' examples
    language_files: list[Path]
    other_files: list[Path]
    entity_types: set[str]


# ---------------------------------------------------------------- loading data


def nlu_files(data_dir: Path) -> list[Path]:
    """Every file under data_dir that rasa recognises as NLU data (stories and rules are not)."""
    from rasa.shared.data import get_data_files, is_nlu_file

    return sorted(Path(path) for path in get_data_files([str(data_dir)], is_nlu_file))


def entity_annotations(message: Any) -> list[dict[str, Any]]:
    return [
        {"entity": e["entity"], "value": e.get("value"), "start": e["start"], "end": e["end"]}
        for e in message.get("entities") or []
    ]


def load_corpus(data_dir: Path) -> Corpus:
    """Split the NLU files into evaluated examples (en.yml, sw.yml) and background training data."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    files = nlu_files(data_dir)
    language_files = [f for f in files if f.stem in LANGUAGES]
    other_files = [f for f in files if f.stem not in LANGUAGES]
    if not language_files:
        raise SystemExit(f"No NLU files named {'/'.join(f'{lang}.yml' for lang in LANGUAGES)} under {data_dir}")

    examples: list[Example] = []
    parts = []
    for path in language_files:
        data = load_data(str(path))
        for message in data.intent_examples:
            examples.append(
                Example(path.stem, message.get("text"), message.get("intent"), entity_annotations(message), message)
            )
        # Keep the file's synonyms, regexes and lookup tables for every fold, not its examples.
        parts.append(
            TrainingData(
                entity_synonyms=data.entity_synonyms,
                regex_features=data.regex_features,
                lookup_tables=data.lookup_tables,
            )
        )

    # An example elsewhere that repeats an evaluated text would leak it into its own test fold: drop it.
    evaluated_texts = {e.text for e in examples}
    for path in other_files:
        data = load_data(str(path))
        kept = [m for m in data.training_examples if m.get("text") not in evaluated_texts]
        intents = sum(1 for m in kept if m.get("intent"))
        if intents:
            print(
                f"note: {display(path)} has {intents} intent examples; every fold trains on them, none are evaluated",
                flush=True,
            )
        parts.append(
            TrainingData(
                training_examples=kept,
                entity_synonyms=data.entity_synonyms,
                regex_features=data.regex_features,
                lookup_tables=data.lookup_tables,
                responses=data.responses,
            )
        )

    background = TrainingData().merge(*parts)
    entity_types = {e["entity"] for ex in examples for e in ex.entities}
    entity_types |= {e["entity"] for m in background.training_examples for e in m.get("entities") or []}
    return Corpus(examples, background, language_files, other_files, entity_types)


def make_folds(examples: Sequence[Example], n_folds: int) -> list[list[int]]:
    """Indices of the held-out examples of each fold, stratified by intent."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    intents = [e.intent for e in examples]
    rare = sorted(intent for intent, count in Counter(intents).items() if count < n_folds)
    if rare:
        print(f"note: fewer than {n_folds} examples for {', '.join(rare)}; some folds will not test them", flush=True)
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=RANDOM_STATE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rare-intent warning, reported above
        return [list(test) for _, test in splitter.split(np.zeros(len(intents)), intents)]


# ---------------------------------------------------------------- training and parsing


def write_training_file(train: Sequence[Example], background: Any, path: Path) -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData(training_examples=[e.message for e in train]).merge(background)
    path.write_text(data.nlu_as_yaml(), encoding="utf-8")


def train_fold(fold: int, train_file: Path, config: Path, domain: Path, workdir: Path) -> Path:
    """Train the NLU pipeline on train_file with `rasa train nlu`; the path of the model."""
    name = f"fold{fold}"
    command = [
        str(RASA_BIN), "train", "nlu",
        "--config", str(config), "--nlu", str(train_file), "--domain", str(domain),
        "--out", str(workdir), "--fixed-model-name", name,
    ]  # fmt: skip
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **os.environ,
        "PYTHONPATH": pythonpath,  # custom components live in the `bot` package
        "PYTHONWARNINGS": "ignore",
        "RASA_CACHE_DIRECTORY": str(workdir / "rasa-cache"),  # keep the project's training cache clean
    }
    log = workdir / f"{name}-train.log"
    with log.open("w") as out:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    model = workdir / f"{name}.tar.gz"
    if result.returncode != 0 or not model.exists():
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        raise RuntimeError(f"rasa train nlu failed for fold {fold} (exit {result.returncode})")
    return model


def parse_examples(model: Path, examples: Sequence[Example], fold: int, entity_types: set[str]) -> list[Prediction]:
    """Load a trained model and parse every example's text with it."""
    with warnings_hidden():
        from rasa.core.agent import Agent

        agent = Agent.load(str(model))

        async def parse_all() -> list[dict[str, Any]]:
            return [await agent.parse_message(e.text) for e in examples]

        results = asyncio.run(parse_all())

    predictions = []
    for example, result in zip(examples, results, strict=True):
        intent = result.get("intent") or {}
        entities = [
            {"entity": e["entity"], "value": e.get("value"), "start": e["start"], "end": e["end"]}
            for e in result.get("entities") or []
            if e.get("entity") in entity_types
        ]
        predictions.append(
            Prediction(example, fold, intent.get("name") or "", float(intent.get("confidence") or 0.0), entities)
        )
    return predictions


def cross_validate(corpus: Corpus, n_folds: int, config: Path, domain: Path) -> tuple[list[Prediction], list[dict]]:
    """Train and evaluate every fold; all predictions and the time each fold took."""
    predictions: list[Prediction] = []
    timings = []
    folds = make_folds(corpus.examples, n_folds)
    with tempfile.TemporaryDirectory(prefix="nlu-crossval-") as tmp:
        for fold, test_indices in enumerate(folds, start=1):
            held_out = set(test_indices)
            test = [corpus.examples[i] for i in test_indices]
            train = [e for i, e in enumerate(corpus.examples) if i not in held_out]
            workdir = Path(tmp) / f"fold{fold}"
            workdir.mkdir()

            print(f"fold {fold}/{n_folds}: training… ", end="", flush=True)
            started = time.monotonic()
            train_file = workdir / "train.yml"
            write_training_file(train, corpus.background, train_file)
            model = train_fold(fold, train_file, config, domain, workdir)
            train_seconds = time.monotonic() - started

            print(f"{train_seconds:.0f} s, evaluating… ", end="", flush=True)
            started = time.monotonic()
            fold_predictions = parse_examples(model, test, fold, corpus.entity_types)
            eval_seconds = time.monotonic() - started

            accuracy = sum(p.intent == p.example.intent for p in fold_predictions) / len(fold_predictions)
            print(f"{eval_seconds:.0f} s (intent acc {accuracy:.3f})", flush=True)
            predictions.extend(fold_predictions)
            timings.append({"fold": fold, "train_s": round(train_seconds, 1), "eval_s": round(eval_seconds, 1)})
    return predictions, timings


# ---------------------------------------------------------------- metrics


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def intent_metrics(predictions: Sequence[Prediction]) -> dict[str, float | None]:
    """Accuracy, weighted and macro F1 over the intents in the data, and how often nlu_fallback won."""
    from sklearn.metrics import f1_score

    y_true = [p.example.intent for p in predictions]
    y_pred = [p.intent for p in predictions]
    labels = sorted(set(y_true))  # "nlu_fallback" is only ever a wrong prediction, never a class
    return {
        "accuracy": ratio(sum(t == p for t, p in zip(y_true, y_pred, strict=True)), len(y_true)),
        "f1_weighted": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "fallback_rate": ratio(y_pred.count(FALLBACK_INTENT), len(y_pred)),
    }


def spans(entities: Iterable[dict[str, Any]]) -> set[Span]:
    """Entities as (type, start, end); several extractors finding the same span count once."""
    return {(e["entity"], e["start"], e["end"]) for e in entities}


def entity_counts(predictions: Sequence[Prediction]) -> dict[str, Counter]:
    """True positives, false positives and false negatives per entity type."""
    counts: dict[str, Counter] = {}
    for p in predictions:
        true, predicted = spans(p.example.entities), spans(p.entities)
        for kind, found in (("tp", true & predicted), ("fp", predicted - true), ("fn", true - predicted)):
            for entity, _, _ in found:
                counts.setdefault(entity, Counter())[kind] += 1
    return counts


def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "annotated": tp + fn,
        "predicted": tp + fp,
    }


def entity_metrics(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Micro-averaged precision, recall and F1 over all entity types."""
    total = sum(entity_counts(predictions).values(), Counter())
    return prf(total["tp"], total["fp"], total["fn"])


def per_entity_type(predictions: Sequence[Prediction]) -> dict[str, dict[str, Any]]:
    counts = entity_counts(predictions)
    return {entity: prf(c["tp"], c["fp"], c["fn"]) for entity, c in sorted(counts.items())}


def per_intent(predictions: Sequence[Prediction]) -> dict[str, dict[str, Any]]:
    from sklearn.metrics import precision_recall_fscore_support

    y_true = [p.example.intent for p in predictions]
    y_pred = [p.intent for p in predictions]
    labels = sorted(set(y_true))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }


def language_metrics(predictions: Sequence[Prediction]) -> dict[str, Any]:
    return {
        "examples": len(predictions),
        "intent": intent_metrics(predictions),
        "entity": entity_metrics(predictions),
        "intents": per_intent(predictions),
        "entity_types": per_entity_type(predictions),
        "confusions": language_confusions(predictions),
    }


def language_confusions(predictions: Sequence[Prediction]) -> list[dict[str, Any]]:
    """Every (true intent -> predicted intent) mistake, most frequent first, with its texts."""
    texts: dict[tuple[str, str], list[str]] = {}
    for p in predictions:
        if p.intent != p.example.intent:
            texts.setdefault((p.example.intent, p.intent), []).append(p.example.text)
    ordered = sorted(texts.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"true": t, "predicted": p, "count": len(examples), "examples": examples} for (t, p), examples in ordered]


def results(predictions: Sequence[Prediction]) -> list[dict[str, Any]]:
    """What the held-out fold made of every example: the next run compares them one by one."""
    return [
        {
            "language": p.example.language,
            "text": p.example.text,
            "intent": p.example.intent,
            "predicted": p.intent,
            "fold": p.fold,
        }
        for p in predictions
    ]


def confusions(predictions: Sequence[Prediction]) -> list[dict[str, Any]]:
    """The most frequent (true intent -> predicted intent) mistakes, with a count per language."""
    pairs = Counter((p.example.intent, p.intent) for p in predictions if p.intent != p.example.intent)
    by_language = Counter((p.example.intent, p.intent, p.example.language) for p in predictions)
    return [
        {
            "true": true,
            "predicted": predicted,
            "count": count,
            "by_language": {
                lang: by_language[true, predicted, lang] for lang in LANGUAGES if by_language[true, predicted, lang]
            },
        }
        for (true, predicted), count in pairs.most_common(TOP_CONFUSIONS)
    ]


def intent_errors(predictions: Sequence[Prediction]) -> list[dict[str, Any]]:
    """Wrongly classified examples, the most confident mistakes first."""
    wrong = sorted((p for p in predictions if p.intent != p.example.intent), key=lambda p: -p.confidence)
    return [
        {
            "text": p.example.text,
            "language": p.example.language,
            "true": p.example.intent,
            "predicted": p.intent,
            "confidence": round(p.confidence, 3),
            "fold": p.fold,
        }
        for p in wrong[:MAX_ERRORS]
    ]


def entity_errors(predictions: Sequence[Prediction]) -> list[dict[str, Any]]:
    """Examples whose entities were missed or invented, with the text of each span."""

    def describe(text: str, found: set[Span]) -> list[dict[str, Any]]:
        return [{"entity": e, "text": text[s:t], "start": s, "end": t} for e, s, t in sorted(found, key=lambda x: x[1])]

    errors = []
    for p in predictions:
        true, predicted = spans(p.example.entities), spans(p.entities)
        if true != predicted:
            text = p.example.text
            errors.append(
                {
                    "text": text,
                    "language": p.example.language,
                    "true": describe(text, true),
                    "predicted": describe(text, predicted),
                    "fold": p.fold,
                }
            )
    return errors[:MAX_ERRORS]


def below_targets(languages: dict[str, dict[str, Any]]) -> list[str]:
    """One line per language metric under its target (undefined metrics are skipped)."""
    problems = []
    for lang, metrics in languages.items():
        if lang == "all":
            continue
        intent_f1, entity_f1 = metrics["intent"]["f1_weighted"], metrics["entity"]["f1"]
        if intent_f1 is not None and intent_f1 < TARGET_INTENT_F1:
            problems.append(f"{lang}: intent F1 {intent_f1:.3f} < {TARGET_INTENT_F1:.2f}")
        if entity_f1 is not None and entity_f1 < TARGET_ENTITY_F1:
            problems.append(f"{lang}: entity F1 {entity_f1:.3f} < {TARGET_ENTITY_F1:.2f}")
    return problems


def build_report(corpus: Corpus, predictions: list[Prediction], args: argparse.Namespace, timings: list[dict]) -> dict:
    languages = sorted({p.example.language for p in predictions}, key=lambda lang: LANGUAGES.index(lang))
    per_language = {
        lang: language_metrics([p for p in predictions if p.example.language == lang]) for lang in languages
    }
    per_language["all"] = language_metrics(predictions)
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "folds": args.folds,
        "random_state": RANDOM_STATE,
        "config": display(args.config),
        "domain": display(args.domain),
        "evaluated_files": [display(f) for f in corpus.language_files],
        "background_files": [display(f) for f in corpus.other_files],
        "targets": {"intent_f1": TARGET_INTENT_F1, "entity_f1": TARGET_ENTITY_F1},
        "languages": per_language,
        "below_targets": below_targets(per_language),
        "entity_types": per_entity_type(predictions),
        "intents": per_intent(predictions),
        "confusions": confusions(predictions),
        "intent_errors": intent_errors(predictions),
        "entity_errors": entity_errors(predictions),
        "results": results(predictions),
        "timings": timings,
    }


# ---------------------------------------------------------------- output


def display(path: Path) -> str:
    """A path relative to the repo root when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def print_summary(report: dict[str, Any]) -> None:
    languages = report["languages"]
    counts = ", ".join(f"{lang} {m['examples']}" for lang, m in languages.items() if lang != "all")
    print()
    print(f"NLU {report['folds']}-fold cross-validation ({languages['all']['examples']} examples: {counts})")
    print("language  examples  intent acc  intent F1  macro F1  entity P  entity R  entity F1")
    for lang, m in languages.items():
        intent, entity = m["intent"], m["entity"]
        print(
            f"{lang:<8}  {m['examples']:>8}  {fmt(intent['accuracy']):>10}  {fmt(intent['f1_weighted']):>9}"
            f"  {fmt(intent['f1_macro']):>8}  {fmt(entity['precision']):>8}  {fmt(entity['recall']):>8}"
            f"  {fmt(entity['f1']):>9}"
        )
    print(f"targets: intent F1 >= {TARGET_INTENT_F1:.2f}, entity F1 >= {TARGET_ENTITY_F1:.2f}")
    for problem in report["below_targets"]:
        print(f"  below target: {problem}")

    if report["entity_types"]:
        print("\nentity F1 by type (all languages):")
        width = max(len(name) for name in report["entity_types"])
        for name, m in report["entity_types"].items():
            print(
                f"  {name:<{width}}  {fmt(m['f1'])}  (P {fmt(m['precision'])}, R {fmt(m['recall'])},"
                f" {m['annotated']} annotated, {m['predicted']} predicted)"
            )

    print("\ntop intent confusions (true -> predicted):")
    if not report["confusions"]:
        print("  none")
    for c in report["confusions"]:
        split = ", ".join(f"{lang} {n}" for lang, n in c["by_language"].items())
        print(f"  {c['count']:>4}  {c['true']} -> {c['predicted']}  ({split})")


def change_lines(previous: dict[str, Any] | None, report: dict[str, Any]) -> list[str]:
    """What changed against the previous run, per language, for a designer checking an edit."""
    if previous is None:
        return [f"Changes: {changes.NO_PREVIOUS}"]
    lines = [changes.header(previous, f"{previous.get('folds', '?')} folds")]
    if previous.get("folds") != report["folds"]:
        lines.append(f"  note: {previous.get('folds')} folds then, {report['folds']} now: the splits differ")

    def compare(lang: str, before: dict[str, Any], now: dict[str, Any]) -> tuple[str, list[str]]:
        if lang == "all":
            return headline(before, now), []
        examples = outcomes(previous.get("results") or [], lang), outcomes(report["results"], lang)
        return headline(before, now), language_changes(before, now, *examples)

    found, changed = changes.per_language(previous, report, compare)
    lines += found
    if "results" not in previous:
        lines.append("  (the previous report has no per-example results: examples not compared)")
    if not changed:
        lines.append(f"  {changes.NO_CHANGE}")
    return lines


def headline(before: dict[str, Any], now: dict[str, Any]) -> str:
    return ", ".join(
        changes.before_after(name, before[part].get(key), now[part].get(key))
        for name, part, key in (
            ("intent accuracy", "intent", "accuracy"),
            ("intent F1", "intent", "f1_weighted"),
            ("macro F1", "intent", "f1_macro"),
            ("entity F1", "entity", "f1"),
        )
    )


def language_changes(
    before: dict[str, Any],
    now: dict[str, Any],
    old_results: dict[tuple[str, str], changes.Outcome],
    now_results: dict[tuple[str, str], changes.Outcome],
) -> list[str]:
    """Intents and entity types whose F1 moved, new and resolved confusions, examples that flipped."""

    def scores(stats: dict[str, dict[str, Any]]) -> dict[str, float | None]:
        return {name: s["f1"] for name, s in stats.items()}

    def pairs(confusions: list[dict[str, Any]]) -> dict[changes.Pair, int]:
        return {(c["true"], c["predicted"]): c["count"] for c in confusions}

    return (
        changes.score_moves(scores(before.get("intents") or {}), scores(now["intents"]), changes.SCORE_CHANGE)
        + (
            changes.pair_changes(
                pairs(before["confusions"]),
                pairs(now["confusions"]),
                {(c["true"], c["predicted"]): c["examples"] for c in now["confusions"]},
                MIN_CONFUSION,
            )
            if "confusions" in before  # not kept per language before this report's format
            else []
        )
        + changes.score_moves(
            scores(before.get("entity_types") or {}), scores(now["entity_types"]), changes.SCORE_CHANGE, "entity F1"
        )
        + changes.flips(
            old_results,
            now_results,
            lambda key, old, new: f'"{key[0]}" ({key[1]}): {old} → {new}',
            ("right → wrong (true intent: previous prediction → this one)", "wrong → right"),
            MAX_FLIPS,
        )
        + changes.unmatched(old_results, now_results, "examples", "added, edited or removed; the folds differ too")
    )


def outcomes(results: list[dict[str, Any]], language: str) -> dict[tuple[str, str], changes.Outcome]:
    """Each example's (right?, prediction) in one language, by text and true intent."""
    return {
        (r["text"], r["intent"]): (r["predicted"] == r["intent"], r["predicted"])
        for r in results
        if r["language"] == language
    }


# ---------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.nlu_crossval",
        description="Cross-validate the NLU model and print intent and entity metrics per language.",
    )
    parser.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / ".data" / "nlu-report",
        help="directory for the JSON reports, <timestamp>.json and latest.json (default .data/nlu-report)",
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data", help="training data folder (default data/)")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml", help="pipeline config (default config.yml)")
    parser.add_argument("--domain", type=Path, default=ROOT / "domain.yml", help="domain (default domain.yml)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a language is below the targets")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    for name in ("data_dir", "config", "domain"):
        setattr(args, name, getattr(args, name).resolve())
    return args


@contextmanager
def warnings_hidden() -> Iterator[None]:
    """Show no Python warnings inside the block.

    TensorFlow and rasa's dependencies install warning filters of their own when they are
    imported, so an "ignore" filter set beforehand does not silence them.
    """
    shown = warnings.showwarning
    warnings.showwarning = lambda *args, **kwargs: None
    try:
        yield
    finally:
        warnings.showwarning = shown


def quiet_rasa() -> None:
    """Keep TensorFlow's and rasa's start-up and per-message logging out of the table."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.basicConfig(level=logging.ERROR)
    for name in ("rasa", "tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import structlog  # rasa logs each parsed message through structlog at debug level

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_rasa()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # custom components (the `bot` package) load with the models

    corpus = load_corpus(args.data_dir)
    counts = Counter(e.language for e in corpus.examples)
    print(
        f"{len(corpus.examples)} examples ({', '.join(f'{lang} {counts[lang]}' for lang in LANGUAGES if counts[lang])})"
        f" from {', '.join(display(f) for f in corpus.language_files)}",
        flush=True,
    )
    if corpus.other_files:
        print(f"every fold also trains on {', '.join(display(f) for f in corpus.other_files)}", flush=True)

    predictions, timings = cross_validate(corpus, args.folds, args.config, args.domain)
    report = build_report(corpus, predictions, args, timings)
    print_summary(report)
    previous = changes.read_previous(args.out / "latest.json") or changes.read_previous(args.out / "report.json")
    print("\n" + "\n".join(change_lines(previous, report)))
    path = changes.keep_run(report, args.out)
    print(
        f"\nreport (metrics per intent and language, confusions, every example's prediction, "
        f"{len(report['intent_errors'])} intent and {len(report['entity_errors'])} entity errors):"
        f" {display(path)} (and {display(args.out / 'latest.json')})"
    )
    return 1 if args.check and report["below_targets"] else 0


if __name__ == "__main__":
    sys.exit(main())
