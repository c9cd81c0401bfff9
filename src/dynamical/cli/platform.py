"""The platform commands of ``dynamical``: ``up``, ``agent``, ``invoke``, ``estop`` and ``bench api``.

Kept apart from ``cli.py`` (which registers them) because they run processes and the network;
imports are inside the commands so that ``dynamical --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
DEFAULT_ROBOT_ID = "thor_001"
LEGACY_AGENT_KEY_FILE = "agent.key"
"""Where ``dynamical up`` used to keep an operate API key for its agent (removed on start)."""
# Module level: typer reads the annotations by name (this module postpones their evaluation).
server_opt = Annotated[str, typer.Option("--server", envvar="DYNAMICAL_SERVER", help="URL of the platform server.")]
key_opt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="DYNAMICAL_API_KEY", help="API key of the server.", show_default=False),
]


def retire_agent_key(settings: Any, db: Any) -> bool:
    """Revoke and delete the operate API key older versions kept in ``agent.key`` for the local
    agent (a plaintext key, enough to open the agent link then); True when there was one."""
    from dynamical.api.auth import AuthError, authenticate, revoke_api_key

    path = Path(settings.data_dir) / LEGACY_AGENT_KEY_FILE
    if not path.exists():
        return False
    try:
        with db.session() as session:
            revoke_api_key(session, authenticate(session, path.read_text().strip()).prefix)
    except (AuthError, OSError, UnicodeDecodeError):
        pass  # revoked already, or not a key: deleting the file is all that is left
    path.unlink(missing_ok=True)
    return True


def local_credential(settings: Any, db: Any, robot_id: str) -> Path:
    """The local robot's credential file, made (and its public key stored) when missing or stale."""
    from dynamical.api.robot_credentials import provision_local

    path, made = provision_local(db, Path(settings.data_dir), robot_id)
    if made:
        console.print(f"robot {robot_id}: new credential {path}", highlight=False)
    return path


def local_skill_keys(settings: Any, robot_id: str) -> Path:
    """Write the local robot's skill keys (verify and decrypt, no signing key) from the server's
    keyring beside its skill cache, anew at every start (a rotated key reaches it); their path."""
    from dynamical.agent.skill_keys import SKILL_KEYS_FILE, SkillKeys
    from dynamical.api.bootstrap import open_keyring

    keys = SkillKeys.from_keyring(open_keyring(settings))
    return keys.save(settings.data_dir / "agents" / robot_id / SKILL_KEYS_FILE)


def up(
    settings_loader: Any,
    port: int,
    host: str,
    data_dir: Path | None,
    robot_id: str,
    agent_mode: str,
    with_agent: bool = True,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    trusted_proxies: tuple[str, ...] = (),
) -> None:
    """Serve the API and run one agent for ``robot_id`` beside it until Ctrl-C."""
    import uvicorn

    from dynamical.api.auth import ensure_admin_key
    from dynamical.api.bootstrap import init_database
    from dynamical.api.db import Database
    from dynamical.api.server import build_server
    from dynamical.api.serving import check_proxies, server_url, tls_files, uvicorn_options
    from dynamical.api.settings import ApiSettings
    from dynamical.api.write_hooks import attach as attach_ledger

    tls = tls_files(certfile, keyfile)
    settings = ApiSettings.from_settings(settings_loader(), data_dir, trusted_proxies=check_proxies(trusted_proxies))
    # Whatever this server and its agent create from now on (spools, caches, recordings) is the
    # owner's only, like the data directory that holds it (api/data_dir.py tightens what exists).
    os.umask(0o077)
    db = Database(settings.database_url)
    attach_ledger(settings.database_url, settings.data_dir)  # the first admin key and credential are audited
    try:
        init_database(settings, db)
        admin = ensure_admin_key(db)
        credential = local_credential(settings, db, robot_id)
        skill_keys = local_skill_keys(settings, robot_id)
        if retire_agent_key(settings, db):
            console.print("revoked and removed agent.key: agents sign in with robot credentials now", highlight=False)
    finally:
        db.dispose()
    url = server_url(host, port, tls)
    console.print(
        f"Dynamical Edge platform server at [bold]{url}[/bold] (dashboard {url}/, API docs {url}/docs)",
        highlight=False,
    )
    console.print(f"data directory {settings.data_dir}", highlight=False)
    if admin is not None:
        console.print("first start: an admin API key, shown only now (store it):", highlight=False)
        typer.echo(admin.key)
    app = build_server(settings, prepare_database=False)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", **uvicorn_options(settings, tls))
    server = uvicorn.Server(config)
    agent: subprocess.Popen[bytes] | None = None

    def start_agent() -> None:
        nonlocal agent
        # Only once the server accepts connections: the agent would connect at once anyway (it
        # backs off and retries), this just keeps the first seconds of the log clean.
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.should_exit or not with_agent:
            return
        command = [sys.executable, "-m", "dynamical.cli", "agent", "--robot-id", robot_id, "--server", url]
        command += ["--mode", agent_mode, "--cache-dir", str(settings.data_dir / "agents" / robot_id)]
        command += ["--credential", str(credential), "--skill-keys", str(skill_keys)]
        # The agent's data directory is the server's (`--data-dir` included): its recordings land
        # where GET /api/v1/datasets lists them. Over TLS it trusts the server's own certificate.
        env = {**os.environ, "DYNAMICAL_DATA_DIR": str(Path(settings.data_dir).resolve())}
        if tls is not None:
            env["SSL_CERT_FILE"] = str(tls.certfile)
        agent = subprocess.Popen(command, env=env, start_new_session=True)
        console.print(f"robot agent {robot_id} started (pid {agent.pid}); Ctrl-C stops everything", highlight=False)

    launcher = threading.Thread(target=start_agent, daemon=True)
    launcher.start()
    # uvicorn shuts the server down on SIGTERM and then raises the signal again with the handler
    # it found: the default one would end this process before `finally` stops the agent (which runs
    # in its own session and would be left running). Ours turns it into an exit that unwinds.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.run()  # returns on Ctrl-C / SIGTERM (uvicorn handles both)
    finally:
        launcher.join(timeout=5)
        if agent is not None:
            _stop_process(agent)
        console.print("stopped")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _stop_process(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def deployed_skills(cache_dir: Path | None, skill_keys: Path | None) -> Any:
    """The agent's ``DeployedSkills`` (None without a cache directory, or without keys when none
    were named: deployments are then stored unverified and not run)."""
    from dynamical.agent.learned_catalog import DeployedSkills
    from dynamical.agent.skill_keys import SKILL_KEYS_FILE, SkillKeys
    from dynamical.skills.builtin.catalog import EMBODIMENT

    if cache_dir is None:
        if skill_keys is not None:
            raise ValueError("--skill-keys needs --cache-dir: deployed skills are kept there")
        return None
    path = skill_keys if skill_keys is not None else cache_dir / SKILL_KEYS_FILE
    if skill_keys is None and not path.exists():
        logging.getLogger("dynamical.agent").warning(
            "no skill keys at %s: deployed skills are stored but not verified or run", path
        )
        return None
    return DeployedSkills(cache_dir, SkillKeys.load(path), EMBODIMENT)


EXECUTIVE_NICE = -10
"""Niceness of the realtime agent's threads (the executive): ahead of ordinary load."""


def run_agent(
    settings_loader: Any,
    robot_id: str,
    server: str,
    credential: Path | None,
    mode: str,
    speed: float,
    cache_dir: Path | None,
    seed: int | None,
    skill_keys: Path | None = None,
) -> None:
    """Run the robot agent for ``robot_id`` and keep it linked to ``server`` until SIGINT/SIGTERM.
    With a skill cache and skill keys (default ``<cache_dir>/skill-keys.json``) it verifies, keeps
    and runs the learned skills deployed to it."""
    from dynamical.agent.credential import RobotCredential, default_path
    from dynamical.agent.link_client import AgentLinkClient, LinkConfig, RobotIdentity, agent_url
    from dynamical.agent.robot_agent import make_robot_agent
    from dynamical.launch import load_description, load_world
    from dynamical.learning.session import recorder_for
    from dynamical.runtime.clock import renice
    from dynamical.skills.builtin.catalog import EMBODIMENT, builtin_manifests

    agent_url(server)  # a bad URL is an error now, not a retry loop
    settings = settings_loader()
    credential = credential or default_path(Path(settings.data_dir).expanduser(), robot_id)
    RobotCredential.load(credential)  # a missing or too open key file is an error now, before the robot starts
    description = load_description(settings)
    world = load_world(settings)
    if world is None:
        raise ValueError(f"robot profile {settings.robot!r} has no simulated world; the agent needs one")
    skills = deployed_skills(cache_dir, skill_keys)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s agent %(levelname)s %(message)s")
    if mode == "realtime":
        # Before any thread starts, so that all inherit it: a thread holding the GIL while
        # preempted by other load would stall the control thread (real-time or not) behind it.
        logging.getLogger("dynamical.agent").info("executive threads: %s", renice(EXECUTIVE_NICE))
    robot = make_robot_agent(
        robot_id,
        description,
        world,
        settings.safety,
        mode=mode,  # type: ignore[arg-type]
        seed=settings.sim.seed if seed is None else seed,
        speed=speed,
        skills=skills,
    )
    manifests = [m for m in builtin_manifests() if m.embodiment == EMBODIMENT]
    identity = RobotIdentity(
        name=robot_id,
        profile=description.name,
        kind="simulated",
        embodiment=EMBODIMENT,
        capabilities=[m.id for m in manifests],
    )
    # Demonstrations recorded on the robot (invoke "record": true, the dashboard's Ctrl+R) land
    # where `dynamical datasets` and GET /api/v1/datasets look on this machine.
    recorder = recorder_for(robot, Path(settings.data_dir).expanduser() / "datasets")
    config = LinkConfig(server=server, credential=credential, cache_dir=cache_dir)
    client = AgentLinkClient(robot, identity, config, recorder=recorder, skills=skills)

    def leave(signum: int, _frame: object) -> None:
        err_console.print(f"agent {robot_id}: {signal.Signals(signum).name}, stopping")
        client.stop()

    signal.signal(signal.SIGINT, leave)
    signal.signal(signal.SIGTERM, leave)
    robot.start()
    err_console.print(f"agent {robot_id} ({mode}) linking to {server}", highlight=False)
    try:
        client.run()
    finally:
        # Leaving: the running plan stops where it is (the robot holds), then the robot shuts down.
        robot.cancel()
        client.wait_idle(10.0)
        robot.stop()
        recorder.wait_written(60.0)  # a recording stopped just before is still being written


def invoke(server: str, api_key: str | None, task: str, robot_id: str | None, timeout_s: float, as_json: bool) -> bool:
    """Invoke ``task``, show each step as it runs, print the result; True on success."""
    from dynamical.api.client import ApiClient

    with ApiClient(server, api_key, timeout_s=60.0) as client:
        body = {"task_description": task, "robot_id": robot_id, "wait": False, "timeout_s": timeout_s}
        accepted = client.post("/api/v1/robot/invoke_skill", body)
        request_id = accepted["request_id"]
        if not as_json:
            steps = ", ".join(s["skill_id"] for s in accepted["plan"]["steps"])
            err_console.print(
                f"request {request_id} on {accepted['robot_id']}: {steps} "
                f"(planned in {accepted['planning_time_ms']:.1f} ms)",
                highlight=False,
            )
        shown = 0
        deadline = time.monotonic() + timeout_s + 30
        while True:
            execution = client.get(f"/api/v1/robot/executions/{request_id}")
            for event in execution["progress"][shown:]:
                if not as_json:
                    mark = {"running": "→", "succeeded": "✓", "failed": "✗"}.get(event["status"], "·")
                    err_console.print(
                        f"  {mark} {event['index'] + 1}/{event['total']} {event['skill_id']} {event['status']}",
                        highlight=False,
                    )
            shown = len(execution["progress"])
            if execution["status"] not in ("planning", "running"):
                break
            if time.monotonic() > deadline:
                raise ValueError(f"execution {request_id} still {execution['status']} after {timeout_s:g} s")
            time.sleep(0.2)
    if as_json:
        typer.echo(json.dumps(execution, indent=2, default=str))
    else:
        ok = execution["status"] == "succeeded"
        colour = "green" if ok else "red"
        console.print(
            f"[{colour}]{execution['status']}[/{colour}] in {execution['total_time_ms'] or 0:.0f} ms"
            + (f": {execution['error']}" if execution["error"] else ""),
            highlight=False,
        )
    return execution["status"] == "succeeded"


def estop(server: str, api_key: str | None, robot_id: str | None, category: int) -> bool:
    from dynamical.api.client import ApiClient

    with ApiClient(server, api_key) as client:
        answer = client.post("/api/safety/estop", {"robot_id": robot_id, "category": category})
    for robot in answer["robots"]:
        mark = "[green]stopped[/green]" if robot["ok"] else "[red]NOT CONFIRMED[/red]"
        console.print(f"{robot['robot_id']}: {mark} ({robot['detail']})", highlight=False)
    return bool(answer["ok"])


def register(app: typer.Typer, bench_app: typer.Typer, settings_of: Any, user_errors: Any) -> None:
    """Add the platform commands to the ``dynamical`` app."""
    default_server = "http://127.0.0.1:8000"

    @app.command("up")
    @user_errors
    def up_command(
        ctx: typer.Context,
        port: Annotated[int, typer.Option(help="Port of the server.", min=1, max=65535)] = 8000,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        data_dir: Annotated[
            Path | None, typer.Option("--data-dir", help="Data directory (default: from the config).", file_okay=False)
        ] = None,
        robot_id: Annotated[str, typer.Option("--robot-id", help="Id of the simulated robot.")] = DEFAULT_ROBOT_ID,
        agent_mode: Annotated[
            str, typer.Option("--agent-mode", help="realtime (the realtime and executive processes) or lockstep.")
        ] = "realtime",
        with_agent: Annotated[bool, typer.Option("--agent/--no-agent", help="Run the local robot agent.")] = True,
        certfile: Annotated[
            Path | None, typer.Option("--certfile", help="TLS certificate (PEM): serve HTTPS/WSS only.", dir_okay=False)
        ] = None,
        keyfile: Annotated[
            Path | None, typer.Option("--keyfile", help="Private key of --certfile (PEM).", dir_okay=False)
        ] = None,
        trusted_proxies: Annotated[
            list[str] | None,
            typer.Option(
                "--trusted-proxy",
                help="Address or network of a reverse proxy whose X-Forwarded-For is believed (repeatable; "
                "default none: the client address is the TCP peer's).",
            ),
        ] = None,
    ) -> None:
        """Run the platform server (API and web dashboard) and one simulated robot agent; Ctrl-C stops both."""
        up(
            lambda: settings_of(ctx),
            port,
            host,
            data_dir,
            robot_id,
            agent_mode,
            with_agent,
            certfile,
            keyfile,
            tuple(trusted_proxies or ()),
        )

    @app.command("agent")
    @user_errors
    def agent_command(
        ctx: typer.Context,
        robot_id: Annotated[str, typer.Option("--robot-id", help="The robot's id on the platform.")],
        server: server_opt = default_server,
        credential: Annotated[
            Path | None,
            typer.Option(
                "--credential",
                envvar="DYNAMICAL_ROBOT_CREDENTIAL",
                help="The robot's credential file (default: <data_dir>/credentials/<robot-id>.key; "
                "`dynamical robots add ID` makes it, `dynamical up` makes the local robot's).",
                dir_okay=False,
                show_default=False,
            ),
        ] = None,
        mode: Annotated[str, typer.Option(help="lockstep (one process) or realtime.")] = "lockstep",
        speed: Annotated[float, typer.Option(help="Simulated time per wall-clock second (lockstep).")] = 1.0,
        cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Where deployed skills go.")] = None,
        seed: Annotated[int | None, typer.Option(help="Seed of the object layout (default: config).")] = None,
        skill_keys: Annotated[
            Path | None,
            typer.Option(
                "--skill-keys",
                help="Keys that verify and decrypt deployed skills (default: <cache-dir>/skill-keys.json; "
                "`dynamical skills keys` exports them, `dynamical up` writes its robot's).",
                dir_okay=False,
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Run one robot agent linked to a platform server, signed in with its robot credential; it
        reconnects until stopped."""
        run_agent(lambda: settings_of(ctx), robot_id, server, credential, mode, speed, cache_dir, seed, skill_keys)

    @app.command("invoke")
    @user_errors
    def invoke_command(
        task: Annotated[str, typer.Argument(help='e.g. "pick up the red cube and place it on the shelf"')],
        server: server_opt = default_server,
        api_key: key_opt = None,
        robot_id: Annotated[str | None, typer.Option("--robot-id", help="Default: any idle robot.")] = None,
        timeout_s: Annotated[float, typer.Option("--timeout", help="Cancel the task after this many s.")] = 300.0,
        as_json: Annotated[bool, typer.Option("--json", help="Print the execution as JSON.")] = False,
    ) -> None:
        """Have a robot do a task through the server; shows progress; exit code 1 if it failed."""
        if not invoke(server, api_key, task, robot_id, timeout_s, as_json):
            raise typer.Exit(1)

    @app.command("estop")
    @user_errors
    def estop_command(
        server: server_opt = default_server,
        api_key: key_opt = None,
        robot_id: Annotated[str | None, typer.Option("--robot-id", help="Default: every connected robot.")] = None,
        category: Annotated[int, typer.Option(help="Stop category 0, 1 or 2.", min=0, max=2)] = 1,
    ) -> None:
        """Emergency-stop robots through the server; exit code 1 unless every robot confirmed."""
        if not estop(server, api_key, robot_id, category):
            raise typer.Exit(1)

    @bench_app.command("api")
    @user_errors
    def bench_api_command(
        ctx: typer.Context,
        requests: Annotated[int, typer.Option(help="Plan requests timed one at a time.", min=5)] = 200,
        rate: Annotated[float, typer.Option(help="Sustained rate of plan requests, per s.", min=1)] = 50.0,
        seconds: Annotated[float, typer.Option(help="How long to sustain it.", min=1)] = 20.0,
        seed_task_runs: Annotated[
            int,
            typer.Option(help="Also invoke the seed task this many times, each on a new layout (seed 0, 1, …).", min=0),
        ] = 0,
        agent_speed: Annotated[
            float, typer.Option(help="The bench robot's simulated time per wall second.", min=0.1, max=20)
        ] = 1.0,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """Planning overhead and sustained plan-request load against a server started for the bench;
        with --seed-task-runs, the seed task's success rate through the API over random layouts."""
        from dynamical.bench.api import bench_api

        result = bench_api(
            settings_of(ctx),
            requests=requests,
            rate=rate,
            seconds=seconds,
            seed_task_runs=seed_task_runs,
            agent_speed=agent_speed,
        )
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
            return
        from rich.table import Table

        table = Table(title="bench api")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in result.model_dump().items():
            table.add_row(key, f"{value:,.4g}" if isinstance(value, float) else str(value))
        console.print(table)
