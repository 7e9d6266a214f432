"""Precision and recall of the built-in recognizers on the labelled test set.

data/labelled.jsonl (built by data/build_labelled.py) marks every sensitive value as
``⟦ENTITY|value⟧``. A gold value counts as found when a finding of the same entity type covers
all of it (what matters for redaction: nothing of it is left in clear); any other finding is a
false positive. Run with ``pytest -s`` to see the table.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fluxio.governance.redaction import Entity, Redactor

DATA = Path(__file__).parent / "data" / "labelled.jsonl"
MARK = re.compile(r"⟦([A-Z_]+)\|(.*?)⟧", re.DOTALL)

# Floors a little under the measured numbers (docs/redaction.md), so that losing a couple of
# cases fails. Overall and per type; PHONE is the weakest type (no numbering-plan database).
OVERALL_FLOOR = 0.97
TYPE_FLOORS = {entity.value: 0.95 for entity in Entity}
HELDOUT_FLOOR = 0.90  # ~40 values written after tuning: small, so a looser floor


@dataclass
class Line:
    text: str
    gold: list[tuple[str, int, int]]
    kind: str
    topic: str
    source: str


@dataclass
class Score:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def precision(self, entity: str | None = None) -> float:
        tp, fp = _pick(self.tp, entity), _pick(self.fp, entity)
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, entity: str | None = None) -> float:
        tp, fn = _pick(self.tp, entity), _pick(self.fn, entity)
        return tp / (tp + fn) if tp + fn else 1.0


def _pick(counter: Counter[str], entity: str | None) -> int:
    return sum(counter.values()) if entity is None else counter[entity]


def parse(marked: str) -> tuple[str, list[tuple[str, int, int]]]:
    """Strip the ⟦ENTITY|value⟧ marks; return the text and the gold spans."""
    out, gold, last, size = [], [], 0, 0
    for match in MARK.finditer(marked):
        plain = marked[last : match.start()]
        out.append(plain)
        size += len(plain)
        gold.append((match.group(1), size, size + len(match.group(2))))
        out.append(match.group(2))
        size += len(match.group(2))
        last = match.end()
    out.append(marked[last:])
    return "".join(out), gold


def load() -> list[Line]:
    lines = []
    for raw in DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(raw)
        text, gold = parse(row["text"])
        lines.append(Line(text, gold, row["kind"], row["topic"], row["source"]))
    return lines


def evaluate(lines: list[Line], redactor: Redactor) -> Score:
    score = Score()
    for line in lines:
        predicted = [(f.entity, f.start, f.end, f.recognizer) for f in redactor.scan(line.text)]
        used: set[int] = set()
        for entity, start, end in line.gold:
            hit = next(
                (
                    i
                    for i, (e, s, t, _) in enumerate(predicted)
                    if i not in used and e == entity and s <= start and t >= end
                ),
                None,
            )
            if hit is None:
                score.fn[entity] += 1
                score.misses.append(f"missed {entity} {line.text[start:end]!r} in {line.text!r}")
            else:
                used.add(hit)
                score.tp[entity] += 1
        for i, (entity, start, end, name) in enumerate(predicted):
            if i not in used:
                score.fp[entity] += 1
                score.misses.append(f"false {name} {line.text[start:end]!r} in {line.text!r}")
    return score


def table(title: str, score: Score) -> str:
    rows = [
        f"{title}",
        f"{'entity':<12} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}",
    ]
    for entity in sorted({*score.tp, *score.fp, *score.fn}):
        rows.append(
            f"{entity:<12} {score.tp[entity]:>4} {score.fp[entity]:>4} {score.fn[entity]:>4} "
            f"{score.precision(entity):>9.3f} {score.recall(entity):>7.3f}"
        )
    rows.append(
        f"{'overall':<12} {sum(score.tp.values()):>4} {sum(score.fp.values()):>4} "
        f"{sum(score.fn.values()):>4} {score.precision():>9.3f} {score.recall():>7.3f}"
    )
    return "\n".join(rows + score.misses)


@pytest.fixture(scope="module")
def lines() -> list[Line]:
    return load()


@pytest.fixture(scope="module")
def score(lines: list[Line]) -> Score:
    result = evaluate(lines, Redactor())
    print("\n" + table("labelled set (all lines)", result))
    return result


def test_the_labelled_set_is_large_and_covers_every_entity_type(lines: list[Line]) -> None:
    positives = Counter(entity for line in lines for entity, _, _ in line.gold)
    negatives = [line for line in lines if line.kind == "negative"]
    assert len(lines) >= 300
    assert len(negatives) >= 100
    assert all(not line.gold for line in negatives)
    assert {entity.value for entity in Entity} <= set(positives)
    assert min(positives.values()) >= 30


def test_overall_precision_and_recall_stay_above_their_floors(score: Score) -> None:
    assert score.precision() >= OVERALL_FLOOR, "\n".join(score.misses)
    assert score.recall() >= OVERALL_FLOOR, "\n".join(score.misses)


@pytest.mark.parametrize("entity", sorted(TYPE_FLOORS))
def test_each_entity_type_keeps_its_precision_and_recall(score: Score, entity: str) -> None:
    assert score.precision(entity) >= TYPE_FLOORS[entity], "\n".join(score.misses)
    assert score.recall(entity) >= TYPE_FLOORS[entity], "\n".join(score.misses)


def test_values_written_after_tuning_are_still_found(lines: list[Line]) -> None:
    heldout = evaluate([line for line in lines if line.source == "heldout"], Redactor())
    print("\n" + table("held-out lines", heldout))
    assert heldout.precision() >= HELDOUT_FLOOR
    assert heldout.recall() >= HELDOUT_FLOOR


def test_hard_negatives_are_left_in_clear(lines: list[Line]) -> None:
    redactor = Redactor()
    flagged = [
        (line.topic, line.text)
        for line in lines
        if line.kind == "negative" and redactor.scan(line.text)
    ]
    negatives = sum(line.kind == "negative" for line in lines)
    assert len(flagged) <= negatives * 0.02, flagged
