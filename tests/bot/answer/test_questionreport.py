"""The question report built from a known log: counts per day, declines per rule, the unanswered questions grouped by
subject with their passages, what was rated down, the most cited sources, latency; and its JSON."""

from __future__ import annotations

from datetime import date

import jsonschema
import numpy as np
import pytest

from bot.answer.contract import QUESTION_REPORT_SCHEMA, question_report_json
from bot.answer.gaps import MAX_FORMS, cluster, find_gaps, form_key
from bot.answer.questionreport import MAX_DAYS, build_report
from tests import questionlogs
from tests.questionlogs import BRIDGE, BRIDGE_TRAFFIC, FOOTBALL, FOOTBALL_SUNDAY, MEALS, RATED_DOWN, known_log


@pytest.mark.fast
def test_the_report_of_a_known_log(fake_embedder) -> None:
    report = build_report(known_log(), fake_embedder, questionlogs.search, questionlogs.describe)
    assert (report.since, report.until, report.asked, report.answered, report.declined) == (
        "2025-03-01", "2025-03-03", 12, 4, 8)
    assert (report.askers, report.votes_up, report.votes_down) == (8, 2, 2)
    assert dict(report.channels) == {"thread": 9, "channel": 1, "dm": 1, "cli": 1}
    assert report.period == "day"
    assert [(d.day, d.asked, d.answered, d.declined) for d in report.days] == [
        ("2025-03-01", 7, 3, 4), ("2025-03-02", 0, 0, 0), ("2025-03-03", 5, 1, 4)]
    assert [(r.rule, r.count, r.reason) for r in report.rules] == [
        ("never_mentioned", 4, "The articles never mention a bridge reopening."),
        ("not_answered", 3, "No passage says who."), ("wrong_kind", 1, "No passage has a result.")]

    groups = report.gaps.groups
    assert [(g.size, g.examples) for g in groups] == [
        (4, (BRIDGE, BRIDGE_TRAFFIC)), (3, (FOOTBALL, FOOTBALL_SUNDAY)), (1, (MEALS,))]
    assert dict(groups[0].rules) == {"never_mentioned": 3, "not_answered": 1}
    assert groups[1].last_asked == "2025-03-03T09:02:00+00:00"
    assert [p.source_id for p in groups[0].passages] == ["002_b"] and BRIDGE in groups[0].passages[0].text
    assert (report.gaps.group_count, report.gaps.ungrouped) == (3, 0)

    [down] = report.rated_down
    assert (down.question, down.votes_down, down.votes_up) == (RATED_DOWN, 2, 1)
    assert [(s.source_id, s.title) for s in down.sources] == [("004_a", "Council votes on parking")]
    assert [(s.source_id, s.count, s.title) for s in report.sources] == [
        ("004_a", 4, "Council votes on parking"), ("002_b", 1, "Ferry timetable changes")]
    latencies = [r.latency_ms for r in known_log()]
    assert report.latency.count == 12 and report.latency.maximum == 900.0
    assert dict(report.latency.percentiles)[50] == round(float(np.percentile(latencies, 50)), 1)


@pytest.mark.fast
def test_the_json_follows_its_schema(fake_embedder) -> None:
    payload = question_report_json(build_report(known_log(), fake_embedder, questionlogs.search))
    jsonschema.validate(payload, QUESTION_REPORT_SCHEMA)
    assert payload["gaps"]["groups"][0]["size"] == 4 and payload["latency_ms"]["p95"] > 0
    empty = question_report_json(build_report([], fake_embedder))
    jsonschema.validate(empty, QUESTION_REPORT_SCHEMA)
    assert (empty["asked"], empty["days"], empty["gaps"]["groups"]) == (0, [], [])


@pytest.mark.fast
def test_a_report_without_the_archive_and_a_long_period(fake_embedder) -> None:
    report = build_report(known_log(), fake_embedder, since=date(2024, 1, 1))
    assert report.since == "2024-01-01" and report.period == "week"
    assert len(report.days) <= MAX_DAYS and sum(d.asked for d in report.days) == 12
    assert all(not g.passages for g in report.gaps.groups) and report.sources[0].title is None


@pytest.mark.fast
def test_rare_forms_beyond_the_cap_are_counted_not_grouped(fake_embedder) -> None:
    rows = known_log()
    found = find_gaps(rows, fake_embedder, max_forms=2, top=1)  # the two most asked forms: 3 and 2 questions
    assert [(g.size, g.examples) for g in found.groups] == [(3, (BRIDGE,))]
    assert (found.group_count, found.ungrouped) == (2, 3)
    assert MAX_FORMS >= 100


@pytest.mark.fast
def test_the_same_words_are_one_form_and_greedy_grouping_follows_the_leaders() -> None:
    assert form_key("When will the bridge reopen?") == form_key("when WILL the bridge  reopen")
    assert form_key("???") == "???"
    vectors = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.95, 0.05], [0, 0, 1], [0, 0, 0]], dtype=np.float32)
    assert cluster(vectors, 0.8) == [[0, 1], [2, 3], [4], [5]]
    assert cluster(np.zeros((0, 3))) == []


def test_rewordings_group_with_the_real_encoder(real_embedder) -> None:
    from bot.answer.questionlog import LoggedQuestion

    texts = ["When will the bridge reopen?", "when does the bridge open again", "Is the bridge closed next week?",
             "Who won the football match on Sunday?", "What was the score of the football game?",
             "How much does the new school cost?", "What is the budget of the new school?"]
    rows = [LoggedQuestion(asked_at=f"2025-03-01T09:0{i}:00+00:00", channel="cli", question=text, answered=False,
                           rule="not_answered", reason="r") for i, text in enumerate(texts)]
    groups = find_gaps(rows, real_embedder).groups
    assert sorted(sorted(g.examples) for g in groups) == sorted([sorted(texts[:3]), sorted(texts[3:5]),
                                                                 sorted(texts[5:])])
