"""The agent link handles an e-stop the moment it arrives, not after the command before it."""

import asyncio
import threading

from dynamical.agent.credential import RobotCredential
from dynamical.agent.link_client import AgentLinkClient, LinkConfig, RobotIdentity
from dynamical.agent.messages import CommandResult, Estop, SimReset, decode_agent, encode
from dynamical.agent.robot_agent import LockstepRobotAgent

WAIT_S = 60.0
"""How long the world reset waits for the e-stop: generous, the machine is busy."""


class _Frames:
    """The server's side of the socket: these frames, then the link closes."""

    def __init__(self, frames: list[bytes]) -> None:
        self._frames = list(frames)

    def __aiter__(self) -> "_Frames":
        return self

    async def __anext__(self) -> bytes:
        if not self._frames:
            raise StopAsyncIteration
        return self._frames.pop(0)


class _SlowResetAgent(LockstepRobotAgent):
    """A real lock-step robot whose world reset takes until the robot was e-stopped (bounded)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.estopped = threading.Event()
        self.estopped_during_reset: bool | None = None

    def estop(self, category: int) -> None:
        super().estop(category)
        self.estopped.set()

    def reset_world(self, seed: int) -> None:
        self.estopped_during_reset = self.estopped.wait(WAIT_S)
        super().reset_world(seed)


def test_an_estop_is_not_queued_behind_a_world_reset(humanoid, tabletop, tmp_path):
    robot = _SlowResetAgent("thor_test", humanoid, tabletop, seed=1, speed=1.0)
    robot.start()
    credential = tmp_path / "robot.key"
    RobotCredential.generate().save(credential)
    identity = RobotIdentity(name="thor_test", profile="humanoid", kind="simulated", capabilities=[])
    client = AgentLinkClient(robot, identity, LinkConfig(server="http://127.0.0.1:9", credential=credential))
    frames = _Frames([encode(SimReset(command_id="world", seed=3)), encode(Estop(command_id="stop", category=1))])
    try:
        asyncio.run(asyncio.wait_for(client._receive_forever(frames), 2 * WAIT_S))  # type: ignore[arg-type]
        mode = robot.state().safety.mode
    finally:
        robot.stop()
    assert robot.estopped_during_reset, "the e-stop waited for the world reset to end"
    answers = {m.command_id: m for m in map(decode_agent, client._outbox) if isinstance(m, CommandResult)}
    assert answers["stop"].ok
    # The world reset, handled after it, is refused: a fresh world must not clear a latched stop.
    assert not answers["world"].ok and "emergency stop is latched" in answers["world"].detail
    assert mode == "ESTOP"
