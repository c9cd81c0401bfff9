"""L6 and L7 alone."""

import pytest

from dynamical.orchestration import ExecutionTier, LocationAdaptiveSkillManager, UnknownWorkspaceError, WorkspaceRecord
from dynamical.orchestration.tiering import TierInput, dependencies, tier_of
from dynamical.orchestration.world import Box


@pytest.fixture
def manager(world):
    return LocationAdaptiveSkillManager([WorkspaceRecord.from_snapshot("tabletop", world)])


def test_place_on_the_shelf_gets_its_height_and_the_blocked_sides(manager, manifests, world):
    params, location = manager.adapt(manifests["place"], {"obj": "red_cube", "surface": "shelf"}, "tabletop", world)
    assert params == {"obj": "red_cube", "surface": "shelf"}
    assert location["place_height_m"] == pytest.approx(0.91)
    # The corner shelf has a back wall (+x) and a side wall (-y); it opens to the robot and the table.
    assert location["forbidden_approach_directions"] == ["behind", "right"]


def test_lift_carries_clear_of_the_destination(manager, manifests, world):
    lift = manifests["lift"]
    to_shelf, _ = manager.adapt(lift, {"obj": "red_cube", "height": 0.1}, "tabletop", world, destination="shelf")
    to_upper, _ = manager.adapt(lift, {"obj": "red_cube", "height": 0.1}, "tabletop", world, destination="shelf_upper")
    to_table, _ = manager.adapt(lift, {"obj": "red_cube", "height": 0.1}, "tabletop", world, destination="table")
    assert to_shelf["height"] == pytest.approx(0.20)  # 0.90 - 0.75 + 0.05 clearance
    assert to_upper["height"] == pytest.approx(0.30)  # capped at the schema's maximum
    assert to_table["height"] == pytest.approx(0.10)  # the default already clears it
    lift.validate_parameters(to_upper)


def test_keep_out_zone_forbids_an_approach(world, manifests):
    zone = Box(name="person", center=(0.40, 0.0, 0.78), half=(0.05, 0.05, 0.1))
    manager = LocationAdaptiveSkillManager([WorkspaceRecord.from_snapshot("cell", world, keep_out_zones=[zone])])
    _, location = manager.adapt(manifests["grasp"], {"obj": "red_cube"}, "cell", world)
    assert location["approach_height_m"] == pytest.approx(0.855)
    assert location["forbidden_approach_directions"] == ["left"]  # the zone is at +y of the red cube


def test_unknown_workspace(manager, manifests, world):
    with pytest.raises(UnknownWorkspaceError, match="no workspace record 'moon'; known: tabletop"):
        manager.adapt(manifests["grasp"], {"obj": "red_cube"}, "moon", world)


def test_tiers(manifests):
    assert tier_of(manifests["grasp"], coordinated=False) is ExecutionTier.CONTROL
    assert tier_of(manifests["handover"], coordinated=False) is ExecutionTier.REALTIME  # both arms
    assert tier_of(manifests["grasp"], coordinated=True) is ExecutionTier.REALTIME
    vla = manifests["grasp"].model_copy(update={"kind": "vla", "entry_point": None, "weights": ["w"]})
    assert tier_of(vla, coordinated=False) is ExecutionTier.PLANNING


def test_dag_runs_robots_in_parallel_unless_they_share_an_object():
    deps = dependencies(
        [
            TierInput("s1", "r1", frozenset({"red_cube"})),
            TierInput("s2", "r2", frozenset({"blue_cube"})),
            TierInput("s3", "r1", frozenset({"red_cube", "shelf"})),
            TierInput("s4", "r2", frozenset({"shelf"})),
            TierInput("s5", "r3", frozenset({"shelf"}), leader="s4"),
        ]
    )
    assert deps == {"s1": [], "s2": [], "s3": ["s1"], "s4": ["s2", "s3"], "s5": ["s2", "s3"]}
