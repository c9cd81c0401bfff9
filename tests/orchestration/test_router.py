"""L4 alone: the MoE router on the real MiniLM model."""

import pytest

from dynamical.bench.orchestration import EXTRA_MANIFESTS
from dynamical.orchestration.router import MoESkillRouter


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("grasp the red cube", "grasp"),
        ("lift the red cube", "lift"),
        ("place the red cube on the shelf", "place"),
        ("pass the red cup from the right hand to the left hand", "handover"),
        ("wave with your left hand", "wave"),
        ("could you turn your head toward the cup?", "look_at"),
        ("point at the upper shelf", "point_at"),
        ("go back to your rest pose", "go_home"),
        ("open your fingers", "open_hand"),
        ("reach toward the blue cube", "reach"),
    ],
)
def test_routes_steps_to_the_right_skill(router, text, skill):
    result = router.route(text)
    assert result.matched and result.skill_id == skill
    assert len(result.skill_ids) == 3 == len(result.weights)
    assert sum(result.weights) == pytest.approx(1.0) and result.weights == sorted(result.weights, reverse=True)
    assert 0 < result.confidence <= 1


@pytest.mark.parametrize(
    "text", ["bake a chocolate cake", "what is the weather like tomorrow", "tell me a joke about cats"]
)
def test_off_topic_text_matches_no_skill(router, text):
    result = router.route(text)
    assert not result.matched
    assert "no skill matches" in router.explain_no_match(result)


@pytest.mark.timing  # a bound on seconds: it runs beside two busy processes, not on an idle-looking one
def test_registering_a_skill_retrains_in_seconds_and_routes_to_it(embedder, manifests):
    router = MoESkillRouter(embedder, manifests.values())
    assert router.route("wipe the table clean").skill_id != "wipe_surface"
    seconds = router.register(EXTRA_MANIFESTS[0])
    assert seconds < 10  # about a second on two cores
    assert router.route("wipe the table clean").skill_id == "wipe_surface"
    assert router.route("grasp the red cube").skill_id == "grasp"


def test_training_is_deterministic(embedder, manifests, router):
    again = MoESkillRouter(embedder, manifests.values())
    text = "hoist the green block"
    assert again.route(text).weights == pytest.approx(router.route(text).weights, abs=1e-5)
