"""Schemathesis against the OpenAPI schema: generated requests (valid and not) never get a 5xx.

Runs on SQLite only (the database tests cover PostgreSQL) with a bounded number of examples per
operation, as an admin so that every operation is reached past authentication.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from dynamical.api.auth import create_api_key
from dynamical.api.records import RobotRecord, upsert_robot
from dynamical.api.server import build_server

from .conftest import _Template

EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, templates: dict[str, _Template]):
    settings_ = templates["sqlite"].instance(Path(tmp_path_factory.mktemp("schemathesis")))
    # The whole server: the foundation's routers and the agent link's (invoke, telemetry, safety commands).
    app = build_server(settings_, prepare_database=False, warm_up=False)
    with app.state.db.session() as session:
        upsert_robot(session, RobotRecord(id="thor_001", name="Thor", profile="humanoid", kind="simulated"))
        key = create_api_key(session, "admin").key
    yield app, key
    app.state.db.dispose()


def _operations(app) -> list:
    return [result.ok() for result in schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations()]


# One test per generation mode over every operation. (schemathesis.pytest.from_fixture does not
# work with pytest 9 in this schemathesis version, so the cases are drawn with hypothesis here.)
# safety.config.HalfSpaceZone normalises with numpy, which warns on a huge normal before we refuse it.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(served, mode: GenerationMode):
    app, key = served
    operations = _operations(app)
    assert len(operations) >= 25, "every router is in the schema, the invoke and safety commands included"
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_5xx(case) -> None:
            case.call_and_validate(headers={"X-API-Key": key}, checks=[not_a_server_error])

        try:
            no_5xx()
        except Unsatisfiable:
            # Nothing in this operation can be made invalid (GET /health takes no input).
            assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request could be drawn"
