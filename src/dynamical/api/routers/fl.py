"""``/api/v1/fl``: federated fine-tuning of skill experts across the fleet (``dynamical.fleet``).

The server relays what it cannot read: robots register their X25519 public key and fetch the HE
secret key sealed to it by an admin; updates arrive as BFV ciphertexts (``application/octet-stream``
body, up to ``max_body_bytes``: ~500 k expert parameters at the default 1 MiB) and are summed when
an admin closes the round; ``/model`` returns the encrypted sums for the key holders to decrypt.
"""

from __future__ import annotations

import base64
import threading
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Admin, Operator, Reader
from dynamical.api.deps import Settings
from dynamical.api.settings import ApiSettings
from dynamical.fleet.bfv import ciphertexts_for
from dynamical.fleet.errors import FleetError, FleetKeyError, UpdateRejectedError
from dynamical.fleet.keys import SealedKey
from dynamical.fleet.server_state import ROBOT_ID_PATTERN, FleetServer, FleetSetup, RoundEntry
from dynamical.observability.audit_operations import OperationsAudit

router = APIRouter(prefix="/api/v1/fl", tags=["fleet learning"])
RobotId = Annotated[str, Query(pattern=ROBOT_ID_PATTERN, description="the robot's id")]


_create_lock = threading.Lock()


def _server(request: Request, settings: Settings) -> FleetServer:
    """The app's one FleetServer, made on first use (the lock keeps two first requests to one)."""
    with _create_lock:
        server = getattr(request.app.state, "fleet_server", None)
        if server is None:
            try:
                server = FleetServer(settings.data_dir / "fleet")
            except FleetError as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
            request.app.state.fleet_server = server
        return server


def _audit(settings: ApiSettings) -> OperationsAudit:
    return OperationsAudit.at(settings.data_dir)


async def _call(func, *args):  # type: ignore[no-untyped-def]
    """HE work off the event loop; fleet refusals are 4xx with their message."""
    try:
        return await run_in_threadpool(func, *args)
    except FleetKeyError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except UpdateRejectedError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except FleetError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


class RegisterRequest(BaseModel):
    robot_id: str = Field(pattern=ROBOT_ID_PATTERN)
    public_key: str = Field(min_length=40, max_length=64, description="X25519 public key, base64 (32 bytes)")


class RegisterResponse(BaseModel):
    robot_id: str
    round: int
    key_id: str | None
    sealed_key: SealedKey | None
    """The fleet's HE secret key sealed to this robot's key pair (None until an admin has sealed it)."""


class UpdateAccepted(BaseModel):
    robot_id: str
    round: int
    received: int


class DeclineRequest(BaseModel):
    robot_id: str = Field(pattern=ROBOT_ID_PATTERN)
    round: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=2000)
    epsilon: float = Field(ge=0, allow_inf_nan=False)


class ModelResponse(BaseModel):
    round: int
    key_id: str
    values: int
    contributors: int
    aggregate: str
    """base64 of the BFV ciphertexts of the round's summed update (decrypt with the fleet key)."""


class StatusResponse(BaseModel):
    configured: bool
    aggregation: str | None
    key_id: str | None
    round: int
    robots: list[str]
    pending: list[str]
    rounds: list[RoundEntry]


class RobotPrivacy(BaseModel):
    robot_id: str
    epsilon: float
    budget: float
    delta: float
    rounds: int
    declined: str | None


@router.put("/setup", status_code=204, responses={409: {"description": "key bundles for another key"}})
async def setup(body: FleetSetup, principal: Admin, request: Request, settings: Settings) -> None:
    """Publish the fleet's config, the expert's size and the HE key sealed to each robot (rotation too)."""
    server = _server(request, settings)
    rotated = server.state.setup is not None and server.state.setup.key_id != body.key_id
    await _call(server.configure, body)
    # The audit ledger names the key by its id (a hash) and who holds it; never key material.
    _audit(settings).key(
        "rotated" if rotated else "distributed",
        actor=f"api-key:{principal.prefix}",
        key_id=body.key_id,
        purpose="fleet aggregation",
        scheme=body.config.aggregation,
        holders=[f"robot:{s.robot_id}" for s in body.sealed_keys],
    )


@router.post("/register", response_model=RegisterResponse, responses={409: {"description": "another public key"}})
async def register(body: RegisterRequest, _: Operator, request: Request, settings: Settings) -> RegisterResponse:
    """Register a robot's X25519 public key; returns its sealed fleet key once an admin made one."""
    server = _server(request, settings)
    await _call(server.register, body.robot_id, body.public_key)
    setup_ = server.state.setup
    return RegisterResponse(
        robot_id=body.robot_id,
        round=server.state.round,
        key_id=setup_.key_id if setup_ else None,
        sealed_key=server.sealed_key(body.robot_id),
    )


@router.post(
    "/update",
    response_model=UpdateAccepted,
    status_code=202,
    responses={422: {"description": "malformed, wrong-key, duplicate or late update"}},
)
async def update(
    request: Request,
    _: Operator,
    settings: Settings,
    robot_id: RobotId,
    round: Annotated[int, Query(ge=1)],
    key_id: Annotated[str, Query(min_length=1, max_length=64)],
    epsilon: Annotated[float, Query(ge=0, le=1e6, allow_inf_nan=False)] = 0.0,
) -> UpdateAccepted:
    """One robot's encrypted update (the body: packed BFV ciphertexts, ``application/octet-stream``)."""
    payload = await request.body()
    if not payload:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is the encrypted update; it is empty")
    server = _server(request, settings)
    received = await _call(server.submit, robot_id, round, key_id, payload, epsilon)
    setup_ = server.state.setup
    if setup_ is not None and setup_.config.aggregation == "bfv":
        _audit(settings).encryption(
            actor=f"robot:{robot_id}",
            round_id=str(round),
            key_id=key_id,
            scheme="bfv",
            ciphertexts=ciphertexts_for(setup_.values),
            bytes=len(payload),
        )
    return UpdateAccepted(robot_id=robot_id, round=round, received=received)


@router.post("/decline", status_code=204)
async def decline(body: DeclineRequest, _: Operator, request: Request, settings: Settings) -> None:
    """A robot sits a round out (its ε budget, its battery) and says why."""
    await _call(_server(request, settings).decline, body.robot_id, body.round, body.reason, body.epsilon)


@router.post("/round/close", response_model=RoundEntry, responses={409: {"description": "too few updates"}})
async def close_round(_: Admin, request: Request, settings: Settings) -> RoundEntry:
    """Sum the open round's ciphertexts (the server never decrypts) and open the next round."""
    server = _server(request, settings)
    entry = await _call(server.close_round)
    scheme = server.state.setup.config.aggregation if server.state.setup else "bfv"
    _audit(settings).aggregation(
        actor="server",
        round_id=str(entry.round),
        scheme=scheme,
        contributors=[f"robot:{r}" for r in entry.contributors],
        bytes_in=entry.bytes_up,
        bytes_out=entry.bytes_down,
    )
    return entry


@router.get("/model", response_model=ModelResponse, responses={409: {"description": "no round closed yet"}})
async def model(
    _: Reader,
    request: Request,
    settings: Settings,
    round: Annotated[int | None, Query(ge=1)] = None,
) -> ModelResponse:
    """The latest (or a given) round's encrypted summed update: key holders decrypt it and update
    their copy of the global expert (initial expert + every round's mean update)."""
    server = _server(request, settings)
    entry, payload = await _call(server.aggregate, round)
    assert server.state.setup is not None
    return ModelResponse(
        round=entry.round,
        key_id=entry.key_id,
        values=server.state.setup.values,
        contributors=len(entry.contributors),
        aggregate=base64.b64encode(payload).decode(),
    )


@router.get("/status", response_model=StatusResponse)
async def fleet_status(_: Reader, request: Request, settings: Settings) -> StatusResponse:
    """Rounds so far (participants, bytes, aggregation time), registered robots and the open round."""
    server = _server(request, settings)
    setup_ = server.state.setup
    return StatusResponse(
        configured=setup_ is not None,
        aggregation=setup_.config.aggregation if setup_ else None,
        key_id=setup_.key_id if setup_ else None,
        round=server.state.round,
        robots=sorted(server.state.robots),
        pending=server.pending(),
        rounds=server.state.history,
    )


@router.get("/privacy", response_model=list[RobotPrivacy])
async def privacy(_: Reader, request: Request, settings: Settings) -> list[RobotPrivacy]:
    """Each robot's reported ε at the fleet's δ against its budget (robots keep the ledger)."""
    server = _server(request, settings)
    setup_ = server.state.setup
    budget = setup_.config.epsilon_budget if setup_ else 0.0
    delta = setup_.config.delta if setup_ else 0.0
    return [
        RobotPrivacy(
            robot_id=r.robot_id, epsilon=r.epsilon, budget=budget, delta=delta, rounds=r.rounds, declined=r.declined
        )
        for r in sorted(server.state.robots.values(), key=lambda r: r.robot_id)
    ]
