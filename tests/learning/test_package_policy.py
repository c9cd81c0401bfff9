"""A tiny ACT packaged as a policy skill, uploaded to the server, and run in the executor behind the
safety kernel (lock-step); its ONNX graph equals the PyTorch policy; a tampered artifact is refused.

The training run is made in the learning environment by ``policy_run_fixture.py`` (LeRobot's own
dataset writer, ACTConfig, processors from the dataset's statistics), once for the module; the
export runs there too, through ``dynamical skills package``.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dynamical.agent.learned_catalog import DeployedSkills, DeployRefusedError
from dynamical.agent.link_client import AgentLinkClient, LinkConfig, RobotIdentity
from dynamical.agent.robot_agent import make_robot_agent
from dynamical.agent.skill_keys import SkillKeys
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.bootstrap import open_registry
from dynamical.api.server import build_server
from dynamical.api.settings import SQLITE_FILE, ApiSettings
from dynamical.cli import app as cli_app
from dynamical.learning.env import learn_python
from dynamical.learning.features import layout_for
from dynamical.learning.onnx_policy import OnnxPolicy
from dynamical.learning.policy_package import package_policy
from dynamical.robot import RobotDescription, WorldSpec
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.artifact import build_artifact, open_artifact
from dynamical.skills.builtin.catalog import EMBODIMENT
from dynamical.skills.errors import ArtifactTamperedError
from dynamical.skills.keyring import Keyring
from dynamical.skills.manifest import Predicate
from dynamical.skills.policy_spec import ONNX_PATH, SPEC_PATH, PolicySpec
from dynamical.skills.runner import SkillRunner, builtin_catalog, lockstep_host
from tests.link.harness import WAIT_S, LiveServer, hello_fields, live_server, wait_for

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).with_name("policy_run_fixture.py")
FAR = (4.0, 4.0)


@pytest.fixture(scope="module")
def policy_run(tmp_path_factory: pytest.TempPathFactory, humanoid: RobotDescription, tabletop: WorldSpec) -> Path:
    """A training run of a tiny ACT on a 3-episode dataset laid out for this robot and world."""
    root = tmp_path_factory.mktemp("policy")
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0) as runtime:
        world = lockstep_host(runtime).world
        layout = layout_for(humanoid, world.object_names())
        spec = {
            "robot": humanoid.name,
            "joint_names": list(layout.joint_names),
            "home": layout.action(humanoid.home).tolist(),
            "object_names": list(layout.object_names),
            "object_poses": layout.environment_state(world).reshape(-1, 7).tolist(),
        }
    (root / "spec.json").write_text(json.dumps(spec))
    done = subprocess.run(
        [str(learn_python()), str(FIXTURE), str(root / "spec.json"), str(root / "dataset"), str(root / "run")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "run"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, ApiSettings, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("server")
    settings = ApiSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / SQLITE_FILE}")
    application = build_server(settings, warm_up=False)  # with the agent link: the deploy route
    with TestClient(application) as client:
        with application.state.db.session() as session:
            key = create_api_key(session, Scope.ADMIN, "policy test").key
        yield client, settings, {"X-API-Key": key}


@pytest.fixture(scope="module")
def packaged(policy_run: Path, server, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``dynamical skills package`` on the run, signed with the server's keyring."""
    _, settings, _ = server
    out = tmp_path_factory.mktemp("artifact")
    check = out / "check.npz"
    artifact = out / "learned_hold-1.0.0.dskill"
    result = package_policy(
        policy_run,
        skill_id="learned_hold",
        version="1.0.0",
        keyring=Keyring.load(settings.keyring_path),
        description=RobotDescription.load("humanoid"),
        out=artifact,
        text="Stand guard and keep the arms steady as demonstrated.",
        samples=8,
        check_out=check,
    )
    return {"result": result, "artifact": artifact, "check": check}


def test_onnx_equals_pytorch_on_dataset_frames(packaged: dict, server) -> None:
    _, settings, _ = server
    result = packaged["result"]
    assert result.max_abs_error <= 1e-4 and result.samples >= 3
    # The runtime's onnxruntime (another version than the export's), fed from the signed artifact,
    # held to the chunks PyTorch predicted for the same dataset frames.
    artifact = open_artifact(packaged["artifact"].read_bytes(), Keyring.load(settings.keyring_path))
    spec = PolicySpec.model_validate_json(artifact.files[SPEC_PATH])
    policy = OnnxPolicy(artifact.files[ONNX_PATH], spec)
    with np.load(packaged["check"]) as check:
        frames = {t.name: check[t.name] for t in spec.inputs}
        expected = check["action"]
    assert expected.shape == (result.samples, spec.chunk_size, len(spec.layout.joint_names))
    for i in range(result.samples):
        got = policy.predict({name: value[i : i + 1] for name, value in frames.items()})
        assert np.abs(got - expected[i]).max() <= 1e-4
    # Different frames give different chunks: the comparison is not of constants.
    assert np.abs(expected[0] - expected[-1]).max() > 1e-6


@pytest.fixture(scope="module")
def uploaded(packaged: dict, server) -> dict:
    """The packaged artifact uploaded with ``POST /api/v1/skills``."""
    client, _, admin = server
    created = client.post("/api/v1/skills", content=packaged["artifact"].read_bytes(), headers=admin)
    assert created.status_code == 201, created.text
    return packaged


def test_package_upload_and_run_behind_the_kernel(uploaded: dict, server, humanoid, tabletop) -> None:
    client, settings, admin = server
    listed = {s["id"]: s for s in client.get("/api/v1/skills", headers=admin).json()}
    assert listed["learned_hold"]["kind"] == "policy"
    # Deployment finds the uploaded skill like any other; with no robot connected it says so.
    deploy = client.post("/api/v1/skills/deploy", json={"skill_id": "learned_hold"}, headers=admin)
    assert deploy.status_code == 409 and "no robot agent" in deploy.text

    registry = open_registry(settings, client.app.state.db)  # type: ignore[attr-defined]
    manifest = registry.get("learned_hold").manifest
    assert manifest.kind == "policy" and manifest.policy_format == "onnx"
    assert [str(p) for p in manifest.postconditions] == ["at_home()"]  # the recorded skill's (go_home)
    catalog = {**builtin_catalog(), manifest.id: manifest}
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0) as runtime:
        runtime.set_mannequin_pose(*FAR)
        runner = SkillRunner(
            runtime, Kinematics(build_model(humanoid), humanoid), catalog, artifacts=lambda m: registry.get(m.id)
        )
        outcome = runner.run("learned_hold", {})
        received = [c for _, c, power in runtime.received if power]
    report = runner.executor.history[-1]
    assert report.skill == "learned_hold" and report.status == "succeeded", report
    assert report.starvations == 0 and report.max_chunk_latency_s is not None
    # Chunks came ahead of need: several requests over the run, each timed.
    assert len(outcome.inference_ms) >= 2 and all(ms > 0 for ms in outcome.inference_ms)
    assert outcome.driver_violations == 0 and outcome.hard_limit_holds == 0
    # The policy was trained on the rest pose: it holds it, and the postcondition is checked honestly.
    assert outcome.success, outcome.failure
    assert outcome.postconditions[0].holds
    # Everything it commanded reached the driver through the kernel, and the legs were held.
    legs = humanoid.group_indices("legs")
    q = np.array([c.q for c in received])
    assert len(q) > 100 and np.ptp(q[:, legs], axis=0).max() < 1e-3


def test_policy_that_misses_its_postcondition_fails_honestly(packaged: dict, server, humanoid, tabletop) -> None:
    _, settings, _ = server
    keyring = Keyring.load(settings.keyring_path)
    artifact = open_artifact(packaged["artifact"].read_bytes(), keyring)
    # The same policy promising what it never does: holding the red cube.
    promise = Predicate(name="holding", args={"obj": "red_cube", "side": "right"})
    manifest = artifact.manifest.model_copy(update={"id": "learned_grab", "postconditions": [promise]})
    grab = open_artifact(build_artifact(manifest, artifact.files, keyring), keyring)
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=1) as runtime:
        runtime.set_mannequin_pose(*FAR)
        runner = SkillRunner(
            runtime,
            Kinematics(build_model(humanoid), humanoid),
            {**builtin_catalog(), "learned_grab": manifest},
            artifacts=lambda m: grab,
        )
        outcome = runner.run("learned_grab", {})
    assert not outcome.success and outcome.cause == "postcondition"
    assert "holding(obj=red_cube, side=right)" in (outcome.failure or "")


def test_tampered_policy_artifact_is_refused(packaged: dict, server) -> None:
    client, settings, admin = server
    blob = bytearray(packaged["artifact"].read_bytes())
    blob[-200] ^= 0x01  # one bit of the encrypted graph
    refused = client.post("/api/v1/skills", content=bytes(blob), headers=admin)
    assert refused.status_code == 422 and "altered" in refused.text
    with pytest.raises(ArtifactTamperedError):
        open_artifact(bytes(blob), Keyring.load(settings.keyring_path))


def test_cli_package_refuses_a_bad_run_dir(tmp_path: Path) -> None:
    cli = CliRunner()
    missing = cli.invoke(cli_app, ["skills", "package", str(tmp_path / "nope"), "--id", "x_y", "--version", "1.0.0"])
    assert missing.exit_code == 2 and "not a directory" in missing.output
    (tmp_path / "run").mkdir()
    empty = cli.invoke(cli_app, ["skills", "package", str(tmp_path / "run"), "--id", "x_y", "--version", "1.0.0"])
    assert empty.exit_code == 2 and "checkpoints/last/pretrained_model" in empty.output
    assert "Traceback" not in empty.output


def test_eval_reports_a_learned_skill_with_its_inference_latency(packaged: dict, server) -> None:
    _, settings, _ = server
    cli = CliRunner()
    args = ["eval", "learned_hold", "--episodes", "2", "--seed", "10000", "--json"]
    result = cli.invoke(cli_app, [*args, "--artifact", str(packaged["artifact"]), "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["skill"] == "learned_hold" and [r["seed"] for r in report["results"]] == [10000, 10001]
    assert report["successes"] == 2 and report["driver_violations"] == 0
    latency = report["inference_ms"]
    assert latency["chunks"] >= 4 and 0 < latency["p50"] <= latency["p99"] <= latency["max"]


def test_the_planner_routes_words_to_the_learned_skill(packaged: dict) -> None:
    from dynamical.api.planning import Planner, PlanSpec
    from dynamical.orchestration import get_orchestrator

    planner = Planner()
    planner.use_learned([packaged["result"].manifest])
    plan = planner.plan(PlanSpec(task_description="stand guard"), None, None, None)
    assert [s.skill_id for s in plan.steps] == ["learned_hold"]
    # The built-in skills keep their words, and the process's shared router is left alone.
    assert [s.skill_id for s in planner.plan(PlanSpec(task_description="wave"), None, None, None).steps] == ["wave"]
    assert "learned_hold" not in get_orchestrator().router.skill_ids
    planner.use_learned([])
    assert planner.base is get_orchestrator()


ROBOT = "learner_001"


@contextmanager
def deployed_agent(live: LiveServer, keys: SkillKeys, cache: Path) -> Iterator[DeployedSkills]:
    """The robot's agent as ``dynamical agent --mode lockstep --cache-dir --skill-keys`` runs it."""
    skills = DeployedSkills(cache, keys, EMBODIMENT)
    description = RobotDescription.load("humanoid")
    world = WorldSpec.load("tabletop")
    robot = make_robot_agent(ROBOT, description, world, SafetyConfig(), mode="lockstep", speed=4.0, skills=skills)
    identity = RobotIdentity(**{k: v for k, v in hello_fields(ROBOT).items() if k != "robot_id"})
    config = LinkConfig(server=live.url, credential=live.credential(ROBOT), backoff_max_s=1.0)
    client = AgentLinkClient(robot, identity, config, skills=skills)
    robot.start()
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: ROBOT in live.connected(), "the agent to connect")
        yield skills
    finally:
        client.stop()
        thread.join(WAIT_S)
        robot.cancel()
        client.wait_idle(WAIT_S)
        robot.stop()


def test_deployed_policy_runs_on_the_robot(uploaded: dict, server, tmp_path: Path) -> None:
    """Deploy → the agent verifies and registers it → invoked by id and by words, it runs behind
    the kernel with its postconditions; tampered artifacts are refused at deployment and on load."""
    _, settings, _ = server
    keys = SkillKeys.from_keyring(Keyring.load(settings.keyring_path))
    with live_server(settings) as live, deployed_agent(live, keys, tmp_path / "cache") as skills, live.http() as http:
        # Before deployment the planner does not know it and the robot cannot run it.
        before = http.post(
            "/api/v1/robot/invoke_skill",
            json={"mode": "direct", "skill_ids": ["learned_hold"], "robot_id": ROBOT},
        )
        assert before.status_code == 422 and "learned_hold" in before.text
        deployed = http.post("/api/v1/skills/deploy", json={"skill_id": "learned_hold", "robot_ids": [ROBOT]})
        assert deployed.status_code == 200, deployed.text
        (answer,) = deployed.json()
        assert answer["status"] == "delivered" and answer["error"] is None, answer
        assert [m.id for m in skills.learned] == ["learned_hold"]

        body = {"mode": "direct", "skill_ids": ["learned_hold"], "robot_id": ROBOT, "timeout_s": 120}
        invoked = http.post("/api/v1/robot/invoke_skill", json=body, timeout=180)
        assert invoked.status_code == 200, invoked.text
        result = invoked.json()
        assert result["success"], result
        assert result["skill_ids_used"] == ["learned_hold"]
        (action,) = result["actions"]
        assert action["success"] and action["skill_id"] == "learned_hold"

        # Words route to it: the router learned the description it was packaged with.
        words = {"task_description": "stand guard", "robot_id": ROBOT, "timeout_s": 120}
        routed = http.post("/api/v1/robot/invoke_skill", json=words, timeout=180)
        assert routed.status_code == 200, routed.text
        assert routed.json()["skill_ids_used"] == ["learned_hold"] and routed.json()["success"], routed.json()

    # A tampered artifact never reaches the cache; one altered in the cache is never run.
    blob = bytearray(uploaded["artifact"].read_bytes())
    blob[-200] ^= 0x01
    with pytest.raises(DeployRefusedError, match="altered"):
        skills.install("learned_hold", "1.0.1", bytes(blob))
    cached = tmp_path / "cache" / "skills" / "learned_hold" / "1.0.0.dskill"
    cached.write_bytes(bytes(blob))
    with pytest.raises(ArtifactTamperedError):
        skills.artifact(skills.catalog["learned_hold"])
    reloaded = DeployedSkills(tmp_path / "cache", keys, EMBODIMENT)
    assert "learned_hold" not in reloaded.catalog and str(cached) in reloaded.refused
