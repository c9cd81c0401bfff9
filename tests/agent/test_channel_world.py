"""The world model over the world channel means what the simulator's ground truth means: for one
simulator state, the same predicates give the same answers (and the same reasons) on both."""

import numpy as np
import pytest

from dynamical.orchestration.world import snapshot_from_world_model
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.runtime.channels import ChannelError
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.channel_world import ChannelWorldModel
from dynamical.skills.predicates import evaluate
from dynamical.skills.runner import SkillRunner
from dynamical.skills.world_model import SIDES, SimWorldModel


def _align_to_publication(runtime: LockstepRuntime) -> None:
    """Step until the newest publication is of the simulator's state now."""
    for _ in range(20):
        if runtime.channels.world.read().t == runtime.time:
            return
        runtime.run(runtime.clock.period)
    raise AssertionError("no publication within 20 ticks")


def _answers(world, objects, surfaces) -> dict:
    answers = {}
    for obj in objects:
        for side in SIDES:
            answers["holding", obj, side] = evaluate("holding", {"obj": obj, "side": side}, world)
        for surface in surfaces:
            answers["on", obj, surface] = evaluate("on", {"obj": obj, "surface": surface}, world)
        for other in objects:
            if other != obj:
                answers["near", obj, other] = evaluate("near", {"obj": obj, "target": other}, world)
    for side in SIDES:
        for name in ("hand_empty", "hand_open", "arm_at_rest"):
            answers[name, side] = evaluate(name, {"side": side}, world)
    answers["at_home"] = evaluate("at_home", {}, world)
    return answers


def _assert_same_world(sim: SimWorldModel, channel: ChannelWorldModel) -> None:
    assert channel.object_names() == sim.object_names()
    assert channel.surface_names() == sim.surface_names()
    for side in SIDES:
        assert channel.hand_bodies(side) == sim.hand_bodies(side)
        assert channel.grasp_site(side) == sim.grasp_site(side)
    for name in sim.surface_names():
        a, b = sim.surface(name), channel.surface(name)
        np.testing.assert_array_equal(a.center, b.center)
        np.testing.assert_array_equal(a.half, b.half)
        assert a.body == b.body
    listed = set(channel.index.contact_bodies)
    for name in sim.object_names():
        a, b = sim.object(name), channel.object(name)
        np.testing.assert_array_equal(a.pos, b.pos)
        np.testing.assert_array_equal(a.quat, b.quat)
        assert (a.speed, a.bottom) == (b.speed, b.bottom)
        assert b.touching == a.touching & listed
    np.testing.assert_array_equal(channel.joint_positions(), sim.joint_positions())
    objects, surfaces = sim.object_names(), sim.surface_names()
    assert _answers(channel, objects, surfaces) == _answers(sim, objects, surfaces)
    assert snapshot_from_world_model(channel, "tabletop") == snapshot_from_world_model(sim, "tabletop")


@pytest.mark.slow
def test_channel_and_simulator_world_models_agree_before_and_after_a_grasp(humanoid, tabletop):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=21) as runtime:
        runtime.set_mannequin_pose(4.0, 4.0)
        runner = SkillRunner(runtime, Kinematics(build_model(humanoid), humanoid))
        sim = runner.world
        channel = ChannelWorldModel.build(runtime.channels, humanoid, tabletop)
        runtime.run(0.3)  # objects settle on the table
        _align_to_publication(runtime)
        _assert_same_world(sim, channel)
        assert not evaluate("holding", {"obj": "red_cube", "side": "right"}, channel).holds

        outcome = runner.run("grasp", {"obj": "red_cube"})
        assert outcome.success, outcome.failure
        _align_to_publication(runtime)
        _assert_same_world(sim, channel)
        side = outcome.params["side"]
        held = evaluate("holding", {"obj": "red_cube", "side": side}, channel)
        assert held.holds, held.detail
        assert snapshot_from_world_model(channel, "tabletop").holding == {side: "red_cube"}


def test_a_channel_world_model_refuses_channels_published_for_another_world(humanoid, tabletop, runtime):
    channel = ChannelWorldModel.build(runtime.channels, humanoid, tabletop)
    bad_index = type(channel.index)(
        objects=channel.index.objects[::-1],
        hands=channel.index.hands,
        surfaces=channel.index.surfaces,
        contact_bodies=channel.index.contact_bodies,
    )
    with pytest.raises(ChannelError, match="other object or contact-body lists"):
        ChannelWorldModel(runtime.channels, humanoid, bad_index, {})
    with pytest.raises(Exception, match="no object 'purple_banana'"):
        channel.object("purple_banana")
