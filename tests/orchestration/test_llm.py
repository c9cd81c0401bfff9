"""The LLM backend against a real HTTP server speaking the OpenAI chat API, and its fallback."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dynamical.orchestration.llm import LLMConfig, LLMDecomposer


@pytest.fixture
def chat_server():
    """A local chat-completions endpoint answering with ``server.answer`` (a string) or status ``server.status``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append((self.path, body))
            if server.status != 200:
                self.send_response(server.status)
                self.end_headers()
                return
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": server.answer}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.requests, server.status, server.answer = [], 200, ""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def decomposer(server):
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return LLMDecomposer(LLMConfig(base_url=url, model="test-model", timeout_s=2.0))


def test_llm_steps_are_validated_and_resolved(chat_server, world):
    steps = [
        {"text": "grasp the red cube", "action": "grasp", "args": {"obj": "red cube"}},
        {"text": "put it on the top shelf", "action": "place", "args": {"obj": "red_cube", "surface": "upper shelf"}},
    ]
    chat_server.answer = "```json\n" + json.dumps({"steps": steps}) + "\n```"
    result = decomposer(chat_server).decompose("put the red cube on the top shelf", world)
    assert result.backend == "llm"
    assert [s.args for s in result.steps] == [{"obj": "red_cube"}, {"obj": "red_cube", "surface": "shelf_upper"}]
    path, body = chat_server.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "test-model"
    assert "red_cube" in body["messages"][1]["content"]


@pytest.mark.parametrize(
    ("status", "answer", "why"),
    [
        (500, "", "HTTPStatusError"),
        (200, "not json at all", "invalid answer|JSONDecodeError"),
        (200, json.dumps({"steps": [{"text": "grasp it", "args": {"obj": "yellow banana"}}]}), "invalid answer"),
    ],
)
def test_parser_takes_over_when_the_llm_fails(chat_server, world, status, answer, why):
    chat_server.status, chat_server.answer = status, answer
    result = decomposer(chat_server).decompose("pick up the red cube and place it on the shelf", world)
    assert result.backend == "parser"
    assert [s.action for s in result.steps] == ["grasp", "lift", "place"]
    assert result.notes[0].startswith("LLM unavailable") and re.search(why, result.notes[0])


def test_unreachable_llm_falls_back(world):
    llm = LLMDecomposer(LLMConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=0.5))
    result = llm.decompose("wave with your left hand", world)
    assert result.backend == "parser" and "ConnectError" in result.notes[0]
