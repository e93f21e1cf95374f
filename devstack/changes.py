"""What changed between two runs of a report: the part a designer reads after an edit.

The NLU reports (devstack.nlu_crossval, devstack.nlu_heldout) and the conversation tests
(devstack.story_tests) keep their last run as latest.json beside timestamped copies, and print
the difference to it with these functions. Each function returns lines (no printing, no I/O
besides keep_run and read_previous), so the wording is tested on small hand-built reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

NO_PREVIOUS = "no previous run: nothing to compare (the next run compares with this one)"
NO_CHANGE = "no change"
MAX_LISTED = 25  # items listed per section; the rest are in the JSON
SCORE_CHANGE = 0.02  # smaller moves of an F1 are noise between runs, not a change

Pair = tuple[str, str]  # (expected, predicted)
Outcome = tuple[bool, str]  # (right, what happened: a prediction, a story's first wrong step)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def before_after(name: str, before: float | int | None, now: float | int | None) -> str:
    if isinstance(before, int) and isinstance(now, int):
        return f"{name} {before} → {now}"
    return f"{name} {fmt(before)} → {fmt(now)}"


def header(previous: Mapping[str, Any], what: str) -> str:
    """The first line of a comparison: which run it is against."""
    about = f", {what}" if what else ""
    return f"Changes since the previous run ({previous.get('generated_at', '?')}{about}):"


def quoted(texts: Sequence[str], limit: int = 3, width: int = 48) -> str:
    shown = [f'"{t if len(t) <= width else t[: width - 1] + "…"}"' for t in texts[:limit]]
    more = f" (+{len(texts) - limit})" if len(texts) > limit else ""
    return ", ".join(shown) + more


def score_moves(
    before: Mapping[str, float | None], now: Mapping[str, float | None], threshold: float, what: str = "F1"
) -> list[str]:
    """Names whose score moved by more than threshold, worst first: "worse X F1 0.900 → 0.700".

    Names in one run only are listed as new or gone, unless the previous run has no scores at
    all (a report from before they were kept).
    """
    if not before:
        return []
    moves = []
    for name, score in now.items():
        old = before.get(name)
        if name in before and score is not None and old is not None and abs(score - old) > threshold:
            moves.append((score - old, name, old, score))
    lines = [
        f"{'better' if delta > 0 else 'worse '} {name}: {what} {old:.3f} → {score:.3f}"
        for delta, name, old, score in sorted(moves)
    ]
    lines += [f"new    {name}: {what} {fmt(now[name])}" for name in sorted(now.keys() - before.keys())]
    lines += [f"gone   {name} (was {what} {fmt(before[name])})" for name in sorted(before.keys() - now.keys())]
    return lines


def pair_changes(
    before: Mapping[Pair, int],
    now: Mapping[Pair, int],
    examples: Mapping[Pair, Sequence[str]] | None = None,
    min_count: int = 1,
) -> list[str]:
    """Confusions (expected → predicted) that appeared, were resolved, or grew or shrank by 2 or more.

    New and resolved ones of fewer than min_count messages are only counted (with a fold
    assignment that changed, single mistakes come and go).
    """
    examples = examples or {}
    lines, small = [], [0, 0]
    for pair, count in sorted(now.items(), key=lambda item: (-item[1], item[0])):
        if pair not in before and count < min_count:
            small[0] += 1
        elif pair not in before:
            shown = f", {quoted(examples[pair])}" if examples.get(pair) else ""
            lines.append(f"new confusion {pair[0]} → {pair[1]}: {count}{shown}")
        elif abs(count - before[pair]) >= 2:
            lines.append(
                f"{'more ' if count > before[pair] else 'fewer'} {pair[0]} → {pair[1]}: {before[pair]} → {count}"
            )
    for pair, count in sorted(before.items(), key=lambda item: (-item[1], item[0])):
        if pair not in now and count < min_count:
            small[1] += 1
        elif pair not in now:
            lines.append(f"resolved confusion {pair[0]} → {pair[1]} (was {count})")
    if any(small):
        lines.append(f"… {small[0]} new, {small[1]} resolved confusions of fewer than {min_count} (in the JSON)")
    return lines


def flips(
    before: Mapping[Hashable, Outcome],
    now: Mapping[Hashable, Outcome],
    describe: Callable[[Hashable, str, str], str],
    titles: tuple[str, str] = ("right → wrong", "wrong → right"),
    limit: int = MAX_LISTED,
) -> list[str]:
    """Items in both runs that went from right to wrong and from wrong to right.

    describe(key, what happened before, what happens now) is one item's line.
    """
    common = [key for key in now if key in before]
    broke = [key for key in common if before[key][0] and not now[key][0]]
    fixed = [key for key in common if not before[key][0] and now[key][0]]
    lines = []
    for title, keys in zip(titles, (broke, fixed), strict=True):
        if not keys:
            continue
        lines.append(f"{title}: {len(keys)}")
        lines += [f"  {describe(key, before[key][1], now[key][1])}" for key in keys[:limit]]
        if len(keys) > limit:
            lines.append(f"  … {len(keys) - limit} more (in the JSON)")
    return lines


def unmatched(before: Mapping[Hashable, Any], now: Mapping[Hashable, Any], what: str, why: str) -> list[str]:
    """How many items are only in one of the runs (flips cannot compare those); nothing when the
    previous run kept no items."""
    if not before:
        return []
    added, removed = len(now.keys() - before.keys()), len(before.keys() - now.keys())
    return [f"{what}: {added} new, {removed} gone ({why}): not compared"] if added or removed else []


def indented(lines: Sequence[str], by: int) -> list[str]:
    return [" " * by + line for line in lines]


def per_language(
    previous: Mapping[str, Any],
    report: Mapping[str, Any],
    compare: Callable[[str, Mapping[str, Any], Mapping[str, Any]], tuple[str, list[str]]],
) -> tuple[list[str], bool]:
    """A block per language of report["languages"], and whether any changed.

    compare(language, before, now) gives the language's headline (its scores before → after)
    and its changes, listed under it.
    """
    lines, changed = [], False
    for language, now in report["languages"].items():
        before = (previous.get("languages") or {}).get(language)
        if not before:
            lines.append(f"  {language}: new language")
            changed = True
            continue
        headline, found = compare(language, before, now)
        lines += [f"  {language}: {headline}", *indented(found, 4)]
        changed = changed or bool(found)
    return lines, changed


def read_previous(path: Path) -> dict[str, Any] | None:
    """The previous run's report, or None when there is none (or it cannot be read)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        print(f"note: cannot read the previous run's {path} ({error}); no comparison", flush=True)
        return None


def keep_run(report: Mapping[str, Any], out_dir: Path) -> Path:
    """Write report as out_dir/<timestamp>.json and as out_dir/latest.json (the next run's previous)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    path = out_dir / f"{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (out_dir / "latest.json").write_text(text, encoding="utf-8")
    return path
