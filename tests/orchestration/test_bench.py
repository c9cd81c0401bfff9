"""The benches' own logic, at the sizes they report (slow: they train on 20 skills)."""

import pytest

from dynamical.bench.orchestration import bench_manifests, bench_plan, bench_route, held_out_sentences, held_out_verbs
from dynamical.orchestration.paraphrase import training_texts, verbs

pytestmark = pytest.mark.slow


def test_held_out_frames_are_not_training_frames():
    manifests = bench_manifests()
    training = {t for m in manifests for t in training_texts(m, verbs(m, manifests))}
    held_out = held_out_sentences()
    assert len(held_out) == len(held_out_verbs()) and not {t for t, _ in held_out} & training
    assert {skill for _, skill in held_out} == {m.id for m in manifests}


def test_route_bench_reaches_the_issue_accuracy(embedder):
    result = bench_route(embedder)
    assert result.skills == 20
    assert result.top1_accuracy >= 0.95, result.misses
    assert result.off_topic_refused == 1.0


def test_plan_bench_runs_every_strategy(embedder):
    result = bench_plan(embedder, requests=20, cold_requests=3)
    assert (result.skills, result.robots, result.requests) == (20, 10, 20)
    assert set(result.layer_ms_p50) == {"decompose", "route", "contract", "assign", "adapt", "tier"}
    assert result.cold_ms_p50 > result.warm_ms_p50 > 0
