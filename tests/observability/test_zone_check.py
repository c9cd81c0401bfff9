"""The planner refuses a target inside a keep-out zone at plan time, naming the zone and the step."""

from __future__ import annotations

import numpy as np
import pytest

from dynamical.api.planning import Planner, PlanningError, PlanSpec
from dynamical.orchestration.world import default_world_snapshot
from dynamical.orchestration.zone_check import targets, zone_containing

SHELF_ZONE = {"kind": "box", "name": "shelf_keepout", "center": [0.34, -0.52, 1.0], "half_size": [0.2, 0.16, 0.12]}
FAR_ZONE = {"kind": "box", "name": "far_corner", "center": [2.0, 2.0, 1.0], "half_size": [0.1, 0.1, 0.1]}
SEED_TASK = "pick up the red cube and place it on the shelf"


def test_targets_are_objects_and_surface_tops() -> None:
    world = default_world_snapshot()
    found = dict(targets({"obj": "red_cube", "surface": "shelf", "side": "right"}, world))
    assert np.allclose(found["red_cube"], [0.4, -0.12, 0.775])
    assert np.allclose(found["shelf"], [0.34, -0.52, 0.9])
    assert targets({"obj": "no_such_thing"}, world) == []


def test_zone_containing_boxes_with_margin_and_half_spaces() -> None:
    assert zone_containing(np.array([0.34, -0.52, 0.9]), [FAR_ZONE, SHELF_ZONE]) == "shelf_keepout"
    assert zone_containing(np.array([0.0, 0.0, 0.9]), [FAR_ZONE, SHELF_ZONE]) is None
    # Just outside the box, within the hand's margin: still refused.
    assert zone_containing(np.array([0.56, -0.52, 1.0]), [SHELF_ZONE]) == "shelf_keepout"
    floor = {"kind": "halfspace", "name": "above_floor", "normal": [0, 0, 1], "offset": 0.1}
    assert zone_containing(np.array([0.4, 0.0, 0.05]), [floor]) == "above_floor"
    assert zone_containing(np.array([0.4, 0.0, 0.5]), [floor]) is None


@pytest.fixture(scope="module")
def planner() -> Planner:
    zones = {"zones": [SHELF_ZONE]}
    planner = Planner(zones=lambda robot_id: zones["zones"])
    planner.zones_holder = zones  # type: ignore[attr-defined]
    return planner


@pytest.mark.slow
def test_the_planner_refuses_a_place_inside_a_zone_naming_it(planner: Planner) -> None:
    with pytest.raises(PlanningError, match=r"inside keep-out zone 'shelf_keepout'") as refused:
        planner.plan(PlanSpec(task_description=SEED_TASK), None, None, None)
    assert "place" in str(refused.value) and "shelf" in str(refused.value)


@pytest.mark.slow
def test_the_same_task_plans_with_the_zone_elsewhere(planner: Planner) -> None:
    planner.zones_holder["zones"] = [FAR_ZONE]  # type: ignore[attr-defined]
    plan = planner.plan(PlanSpec(task_description=SEED_TASK), None, None, None)
    assert [s.skill_id for s in plan.steps][-1] in ("place", "pick_and_place")
