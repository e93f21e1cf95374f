"""What the NLU reports and the conversation tests print against the previous run.

The reports are built by hand, small: one intent or story changes between two runs, and the
lines a designer reads must say which and in which direction.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from devstack import changes, nlu_crossval, nlu_heldout, story_tests

# ---------------------------------------------------------------- the shared comparisons


def test_an_intent_that_got_worse_is_listed_as_worse_and_one_that_got_better_as_better():
    lines = changes.score_moves({"checkout": 0.9, "greet": 0.5}, {"checkout": 0.7, "greet": 0.8}, 0.02)

    assert lines == ["worse  checkout: F1 0.900 → 0.700", "better greet: F1 0.500 → 0.800"]


def test_an_intent_in_one_run_only_is_new_or_gone_unless_the_previous_run_kept_no_scores():
    assert changes.score_moves({"greet": 1.0}, {"stop": 0.5}, 0.02) == [
        "new    stop: F1 0.500",
        "gone   greet (was F1 1.000)",
    ]
    assert changes.score_moves({}, {"stop": 0.5}, 0.02) == []


def test_a_move_within_the_threshold_is_not_a_change():
    assert changes.score_moves({"checkout": 0.90}, {"checkout": 0.91}, 0.02) == []


def test_a_new_confusion_is_listed_with_its_examples_and_a_vanished_one_as_resolved():
    lines = changes.pair_changes(
        {("view_cart", "checkout"): 2},
        {("add_to_cart", "inform"): 3},
        {("add_to_cart", "inform"): ["the first one", "that one"]},
    )

    assert lines == [
        'new confusion add_to_cart → inform: 3, "the first one", "that one"',
        "resolved confusion view_cart → checkout (was 2)",
    ]


def test_confusions_that_grew_or_shrank_by_two_are_listed_and_single_new_ones_only_counted():
    before = {("stop", "deny"): 1, ("view_cart", "checkout"): 5, ("greet", "thank"): 1}
    now = {("stop", "deny"): 4, ("view_cart", "checkout"): 2, ("help", "stop"): 1}

    assert changes.pair_changes(before, now, min_count=2) == [
        "more  stop → deny: 1 → 4",
        "fewer view_cart → checkout: 5 → 2",
        "… 1 new, 1 resolved confusions of fewer than 2 (in the JSON)",
    ]


def test_flips_list_what_went_right_to_wrong_and_wrong_to_right_but_not_what_stayed():
    before = {"a": (True, "greet"), "b": (False, "goodbye"), "c": (True, "greet")}
    now = {"a": (False, "goodbye"), "b": (True, "greet"), "c": (True, "greet")}

    lines = changes.flips(before, now, lambda key, old, new: f"{key}: {old} → {new}")

    assert lines == ["right → wrong: 1", "  a: greet → goodbye", "wrong → right: 1", "  b: goodbye → greet"]


def test_a_kept_run_is_the_next_runs_previous(tmp_path):
    changes.keep_run({"generated_at": "then"}, tmp_path)

    assert changes.read_previous(tmp_path / "latest.json") == {"generated_at": "then"}
    assert len(list(tmp_path.glob("2*.json"))) == 1
    assert changes.read_previous(tmp_path / "missing.json") is None


# ---------------------------------------------------------------- held-out report


def heldout_report(checkout_f1: float, predicted: str) -> dict:
    wrong = predicted != "checkout"
    return {
        "generated_at": "2026-12-01T18:00:00+00:00",
        "model": "models/shop-1.tar.gz",
        "languages": {
            "en": {
                "accuracy": 0.5 if wrong else 1.0,
                "f1_macro": checkout_f1,
                "misrouted_shopping": [],
                "intents": {"checkout": {"f1": checkout_f1}, "greet": {"f1": 1.0}},
                "confusions": (
                    [{"expected": "checkout", "predicted": predicted, "count": 1, "examples": ["nataka kulipa"]}]
                    if wrong
                    else []
                ),
            }
        },
        "results": [
            {"language": "en", "text": "nataka kulipa", "expected": "checkout", "predicted": predicted},
            {"language": "en", "text": "hi", "expected": "greet", "predicted": "greet"},
        ],
    }


def test_heldout_lists_the_intent_that_got_worse_its_new_confusion_and_the_message_that_broke():
    lines = nlu_heldout.change_lines(heldout_report(1.0, "checkout"), heldout_report(0.667, "view_cart"))

    assert "  en: accuracy 1.000 → 0.500, macro F1 1.000 → 0.667, misrouted shopping 0 → 0" in lines
    assert "    worse  checkout: F1 1.000 → 0.667" in lines
    assert '    new confusion checkout → view_cart: 1, "nataka kulipa"' in lines
    assert '    en "nataka kulipa" (checkout): checkout → view_cart' in lines
    assert changes.NO_CHANGE not in " ".join(lines)


def test_heldout_says_when_nothing_changed_and_when_there_is_no_previous_run():
    report = heldout_report(1.0, "checkout")

    assert nlu_heldout.change_lines(report, report)[-1] == "  no change"
    assert nlu_heldout.change_lines(None, report)[0].startswith("Changes: no previous run")


# ---------------------------------------------------------------- cross-validation


def crossval_language(product_f1: float, checkout_f1: float, confusions: list) -> dict:
    return {
        "examples": 2,
        "intent": {"accuracy": checkout_f1, "f1_weighted": checkout_f1, "f1_macro": checkout_f1},
        "entity": {"f1": product_f1},
        "intents": {"checkout": {"f1": checkout_f1}},
        "entity_types": {"product": {"f1": product_f1}},
        "confusions": confusions,
    }


def crossval_report(sw_predicted: str, product_f1: float) -> dict:
    confused = [{"true": "checkout", "predicted": sw_predicted, "count": 1, "examples": ["nataka kulipa"]}]
    sw_f1 = 1.0 if sw_predicted == "checkout" else 0.0
    return {
        "generated_at": "2026-12-01T18:00:00+00:00",
        "folds": 5,
        "languages": {
            "en": crossval_language(product_f1, 1.0, []),
            "sw": crossval_language(1.0, sw_f1, [] if sw_predicted == "checkout" else confused),
            "all": crossval_language(product_f1, 0.5, []),
        },
        "results": [
            {"language": "en", "text": "checkout", "intent": "checkout", "predicted": "checkout"},
            {"language": "sw", "text": "nataka kulipa", "intent": "checkout", "predicted": sw_predicted},
        ],
    }


def block(lines: list[str], language: str) -> list[str]:
    """The lines of one language: its headline and what is listed under it."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {language}:"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")), len(lines))
    return lines[start:end]


def test_crossval_reports_each_languages_changes_under_that_language():
    lines = nlu_crossval.change_lines(crossval_report("checkout", 0.9), crossval_report("greet", 0.6))

    assert block(lines, "en")[1:] == ["    worse  product: entity F1 0.900 → 0.600"]
    assert block(lines, "sw")[1:] == [
        "    worse  checkout: F1 1.000 → 0.000",
        "    … 1 new, 0 resolved confusions of fewer than 2 (in the JSON)",
        "    right → wrong (true intent: previous prediction → this one): 1",
        '      "nataka kulipa" (checkout): checkout → greet',
    ]
    assert block(lines, "all") == [
        "  all: intent accuracy 0.500 → 0.500, intent F1 0.500 → 0.500, macro F1 0.500 → 0.500, entity F1 0.900 → 0.600"
    ]


def test_crossval_against_a_report_from_before_the_per_example_results_compares_the_scores_only():
    old = crossval_report("checkout", 0.9)
    del old["results"]

    lines = nlu_crossval.change_lines(old, crossval_report("greet", 0.9))

    assert "  (the previous report has no per-example results: examples not compared)" in lines
    assert "    worse  checkout: F1 1.000 → 0.000" in block(lines, "sw")
    assert not any("right → wrong" in line for line in lines)
    assert nlu_crossval.change_lines(None, old)[0].startswith("Changes: no previous run")


def test_crossval_counts_the_examples_it_cannot_compare():
    edited = crossval_report("checkout", 0.9)
    edited["results"][1]["text"] = "nataka kulipa sasa"

    lines = nlu_crossval.change_lines(crossval_report("checkout", 0.9), edited)

    assert block(lines, "sw")[1:] == [
        "    examples: 1 new, 1 gone (added, edited or removed; the folds differ too): not compared"
    ]
    assert block(lines, "en")[1:] == []


# ---------------------------------------------------------------- conversation tests

# As rasa test core --e2e writes them (Rasa 3.6.21), shortened.
FAILED_STORIES = """version: "3.1"
stories:
- story: checkout with an empty cart (en) (/work/tests/conversations/test_detours.yml)
  steps:
  - intent: checkout
  - action: action_start_checkout
  - intent: browse_catalog
  - action: action_show_cart  # predicted: action_show_catalog
  - action: action_listen  # predicted: action_default_fallback
- story: checkout with an empty cart (sw) (/work/tests/conversations/test_detours.yml)
  steps:
  - intent: view_cart  # predicted: browse_catalog: nionyeshe bidhaa zote
  - action: action_show_catalog  # predicted: action_show_cart
"""
PASSED_STORIES = """version: "3.1"
stories:
- story: 'greeting: hi (en) (/work/tests/conversations/test_shopping_en.yml)'
  steps:
  - intent: greet
  - action: utter_greet
"""
STORY_REPORT = {
    "action_show_cart": {"precision": 0.8, "recall": 1.0, "f1-score": 0.875, "support": 7},
    "utter_greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 5},
    "add_item_form": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 3},
    "view_cart": {"precision": 1.0, "recall": 0.5, "f1-score": 0.667, "support": 2},
    "[2](quantity)": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 3},
    "accuracy": 0.99,
    "macro avg": {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 20},
    "conversation_accuracy": {"accuracy": 0.33, "correct": 1, "with_warnings": 0, "total": 3},
}
DOMAIN = "intents:\n  - greet\n  - view_cart\nforms:\n  add_item_form:\n    required_slots: []\n"


NO_FAILURES = 'version: "3.1"\n# None of the test stories failed - all good!'
ALL_PASSED = PASSED_STORIES + "".join(
    f"- story: checkout with an empty cart ({lang}) (/work/tests/conversations/test_detours.yml)\n"
    "  steps:\n  - intent: checkout\n"
    for lang in ("en", "sw")
)


def write_rasa_output(out: Path, failed: str = FAILED_STORIES) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "failed_test_stories.yml").write_text(failed)
    (out / "successful_test_stories.yml").write_text(ALL_PASSED if failed == NO_FAILURES else PASSED_STORIES)
    (out / "story_report.json").write_text(json.dumps(STORY_REPORT))


def test_reads_each_story_with_its_first_wrong_step_and_the_actions_apart_from_intents(tmp_path):
    write_rasa_output(tmp_path / "out")
    (tmp_path / "domain.yml").write_text(DOMAIN)

    results = story_tests.read_results(tmp_path / "out", tmp_path / "domain.yml")

    assert results["stories"]["checkout with an empty cart (en)"]["first_error"] == (
        "action: expected action_show_cart, predicted action_show_catalog"
    )
    assert results["stories"]["checkout with an empty cart (sw)"]["first_error"] == (
        "intent: expected view_cart, predicted browse_catalog: nionyeshe bidhaa zote"
    )
    assert results["stories"]["greeting: hi (en)"] == {
        "passed": True,
        "first_error": None,
        "file": "/work/tests/conversations/test_shopping_en.yml",
    }
    assert results["actions"] == {"action_show_cart": 0.875, "utter_greet": 1.0, "add_item_form": 1.0}
    assert results["intents"] == {"view_cart": 0.667}


def story_results(*failing: str) -> dict:
    names = ["greeting (en)", "checkout (en)", "checkout (sw)"]
    return {
        "generated_at": "2026-12-01T18:00:00+00:00",
        "model": "models/shop-1.tar.gz",
        "stories": {
            name: {
                "passed": name not in failing,
                "first_error": "action: expected a, predicted b" if name in failing else None,
            }
            for name in names
        },
        "actions": {"action_show_cart": 0.8 if failing else 1.0},
        "intents": {"view_cart": 1.0},
    }


def test_a_story_that_newly_fails_is_listed_with_its_first_wrong_step():
    lines = story_tests.change_lines(story_results("checkout (sw)"), story_results("checkout (sw)", "checkout (en)"))

    assert lines[1] == "  stories 3 → 3, failed 1 → 2"
    assert lines[2:4] == ["  now failing: 1", "    checkout (en): action: expected a, predicted b"]
    assert not any("checkout (sw)" in line for line in lines)


def test_a_story_that_passes_again_and_the_actions_f1_are_listed():
    lines = story_tests.change_lines(story_results("checkout (en)"), story_results())

    assert "  now passing: 1" in lines
    assert "  action better action_show_cart: F1 0.800 → 1.000" in lines


def test_stories_say_when_there_is_no_previous_run_and_when_nothing_changed():
    assert story_tests.change_lines(None, story_results())[0].startswith("Changes: no previous run")
    assert story_tests.change_lines(story_results(), story_results())[-1] == "  no change"


def test_the_summary_names_each_failing_story_and_its_first_wrong_step():
    lines = story_tests.summary_lines(story_results("checkout (en)"))

    assert lines == [
        "Conversation tests: 3 stories, 1 failed",
        "  FAILED checkout (en)",
        "    action: expected a, predicted b",
    ]


def run_main(tmp_path, monkeypatch, rasa_exit: int, failed: str | None = FAILED_STORIES) -> int:
    """story_tests.main with rasa replaced: it exits rasa_exit, having written failed (None: nothing)."""
    (tmp_path / "domain.yml").write_text(DOMAIN)

    def fake_rasa(command, **kwargs):
        out = Path(command[command.index("--out") + 1])
        if failed is not None:
            write_rasa_output(out, failed)
        return subprocess.CompletedProcess(command, rasa_exit)

    monkeypatch.setattr(story_tests.subprocess, "run", fake_rasa)
    folders = ["--out", str(tmp_path / "out"), "--history", str(tmp_path / "history")]
    return story_tests.main(["--model", "m.tar.gz", "--domain", str(tmp_path / "domain.yml"), *folders])


def test_a_failed_story_fails_the_run_although_rasa_exits_0(tmp_path, monkeypatch, capsys):
    assert run_main(tmp_path, monkeypatch, rasa_exit=0) == 1
    assert "FAILED checkout with an empty cart (en)" in capsys.readouterr().out
    assert (tmp_path / "history" / "latest.json").exists()


def test_a_run_where_every_story_passes_exits_0_and_the_next_run_compares_with_it(tmp_path, monkeypatch, capsys):
    assert run_main(tmp_path, monkeypatch, rasa_exit=0, failed=NO_FAILURES) == 0
    assert "Changes: no previous run" in capsys.readouterr().out
    assert run_main(tmp_path, monkeypatch, rasa_exit=0) == 1
    out = capsys.readouterr().out
    assert "  now failing: 2\n" in out
    assert "    checkout with an empty cart (sw): intent: expected view_cart, predicted browse_catalog" in out


def test_rasas_own_failure_is_the_exit_code_and_stale_results_are_not_read(tmp_path, monkeypatch):
    write_rasa_output(tmp_path / "out")  # a previous run's files

    assert run_main(tmp_path, monkeypatch, rasa_exit=2, failed=None) == 2
    assert not (tmp_path / "history").exists()


def test_crossval_against_a_report_written_before_the_per_language_details_prints_the_scores_only():
    old = crossval_report("checkout", 0.9)
    del old["results"]
    for language in old["languages"].values():
        for detail in ("intents", "entity_types", "confusions"):
            del language[detail]

    lines = nlu_crossval.change_lines(old, crossval_report("greet", 0.6))

    assert [line for line in lines if line.startswith("    ")] == []
    assert block(lines, "en")[0].endswith("entity F1 0.900 → 0.600")
