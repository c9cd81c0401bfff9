"""Planning on a live world: a snapshot of the simulator's WorldModel, the predicates as oracle."""

from dynamical.orchestration import OrchestrationRequest, snapshot_from_world_model
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.robot.sim_robot import SimObserver
from dynamical.skills.predicates import check
from dynamical.skills.world_model import SimWorldModel


def test_snapshot_and_oracle_from_the_simulator(sim, humanoid, orchestrator):
    sim.step(300)  # let the objects settle on the table
    world = SimWorldModel(SimObserver(sim), humanoid)
    snapshot = snapshot_from_world_model(world, name="tabletop")
    assert snapshot.object_names == list(world.object_names())
    assert {o.resting_on for o in snapshot.objects} == {"table"}
    assert snapshot.holding == {}
    boards = {s.name: s.board for s in snapshot.surfaces}
    assert boards["shelf"] == boards["shelf_lower"] == "shelf_lower" != boards["shelf_upper"]
    red = snapshot.object("red_cube").position
    assert red == tuple(float(v) for v in world.object("red_cube").pos)

    kinematics = Kinematics(build_model(humanoid), humanoid)
    asked = []

    def oracle(predicate):
        if "?" in predicate.args.values():
            return None  # a hand the skill will choose: checked when the runner binds it
        asked.append(str(predicate))
        return check(predicate, world, kinematics).holds

    orchestrator.oracle = oracle
    try:
        plan = orchestrator.orchestrate(
            OrchestrationRequest(task_description="hand the cup to your left hand", world=snapshot)
        )
    finally:
        orchestrator.oracle = None
    assert asked == ["reachable(obj=red_cup, side=right)"]
    assert plan.assumptions == []
    assert plan.steps[0].location_params["approach_height_m"] > 0.75
