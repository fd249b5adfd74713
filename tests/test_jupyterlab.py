"""A real JupyterLab, started the way the README starts the course, serves the lessons and runs a kernel.

The server runs from the repository root on a free 127.0.0.1 port with a random token and no browser;
it is stopped in a ``finally`` whatever happens. Jupyter's runtime files go to a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from course.manifest import REPO_ROOT, load_manifest

JUPYTER = Path(sys.executable).parent / "jupyter"
START_TIMEOUT = 120
KERNEL_TIMEOUT = 120

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]


def readme_start_command() -> list[str]:
    """The README's start command: program and subcommand (``uv run course start`` -> course, start)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^uv run (course start)\b", text, re.MULTILINE)
    assert match, "README.md should start the course with `uv run course start`"
    return match.group(1).split()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """Just enough of a JupyterLab client: base URL, token, and authorised requests."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"token {token}"}, timeout=10)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Start JupyterLab the README's way (``course start`` runs ``jupyter lab``); stop it afterwards."""
    program, subcommand = readme_start_command()
    executable = Path(sys.executable).parent / program
    assert executable.exists(), f"{executable} is missing: is the project installed in the venv?"
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    port = free_port()
    token = secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_NO_CONFIG": "1"}
    log_path = runtime / "server.log"
    with log_path.open("w", encoding="utf-8") as server_log:
        process = subprocess.Popen(
            [
                str(executable),
                subcommand,
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--port-retries=0",
                f"--IdentityProvider.token={token}",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = Lab(f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"jupyter lab exited early:\n{log_path.read_text()}"
            try:
                if client.get("/api/status").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"jupyter lab did not answer in time:\n{log_path.read_text()}"
            time.sleep(0.5)
        yield client
    finally:
        client.http.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_status_needs_the_token(lab: Lab) -> None:
    """/api/status answers with the token and refuses without it."""
    response = lab.get("/api/status")
    assert response.status_code == 200
    assert "started" in response.json()
    anonymous = httpx.get(f"{lab.base}/api/status", timeout=10)
    assert anonymous.status_code == 403


def test_lessons_folder_lists_every_lesson(lab: Lab) -> None:
    """/api/contents/lessons lists exactly the lesson notebooks course.toml lists."""
    response = lab.get("/api/contents/lessons")
    assert response.status_code == 200
    served = {item["name"] for item in response.json()["content"] if item["type"] == "notebook"}
    listed = {f"{lesson.slug}.ipynb" for lesson in load_manifest().lessons}
    assert served == listed, f"missing: {sorted(listed - served)}, unlisted: {sorted(served - listed)}"


def test_a_lesson_can_be_opened(lab: Lab) -> None:
    """The first lesson's content comes back as a notebook whose cells match the file."""
    first = load_manifest().lessons[0]
    response = lab.get(f"/api/contents/lessons/{first.slug}.ipynb", content="1")
    assert response.status_code == 200
    model = response.json()
    assert model["type"] == "notebook"
    on_disk = json.loads(first.path().read_text(encoding="utf-8"))
    assert [cell["source"] for cell in model["content"]["cells"]] == [
        "".join(cell["source"]) for cell in on_disk["cells"]
    ]


def test_lab_serves_the_app_page(lab: Lab) -> None:
    """/lab returns JupyterLab's page, rooted at the repository, with mermaid rendering enabled."""
    response = lab.get("/lab")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    match = re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', response.text, re.DOTALL)
    assert match, "no jupyter-config-data in the /lab page"
    config = json.loads(match.group(1))
    assert config["appName"] == "JupyterLab"
    assert Path(config["serverRoot"]).expanduser().resolve() == REPO_ROOT.resolve()
    # The lessons' diagrams are ```mermaid blocks, rendered by a core JupyterLab extension.
    assert not [name for name in config["disabledExtensions"] if "mermaid" in name]


def test_a_kernel_starts_and_imports_the_course_code(lab: Lab) -> None:
    """A python3 kernel started over REST runs ``import grade_predictor`` from the venv, then reports idle.

    A fresh kernel stays in "starting" until a client talks to it, so the check connects first (as
    JupyterLab's own page does), then asks the REST API for the kernel's state.
    """
    response = lab.http.post("/api/kernels", json={"name": "python3"})
    assert response.status_code == 201, response.text
    kernel_id = response.json()["id"]
    try:
        reply = execute(
            lab, kernel_id, "import grade_predictor, sys\nprint(grade_predictor.__name__, sys.prefix)"
        )
        assert reply["status"] == "ok", reply
        name, prefix = reply["stdout"].split()
        assert name == "grade_predictor"
        assert Path(prefix).resolve() == Path(sys.prefix).resolve()
        deadline = time.monotonic() + KERNEL_TIMEOUT
        state = ""
        while state != "idle":
            assert time.monotonic() < deadline, f"kernel stuck in state {state!r}"
            state = lab.get(f"/api/kernels/{kernel_id}").json()["execution_state"]
            time.sleep(0.2)
    finally:
        lab.http.delete(f"/api/kernels/{kernel_id}")


def execute(lab: Lab, kernel_id: str, code: str) -> dict[str, str]:
    """Run ``code`` over the kernel's websocket; return the reply status and what it printed."""
    import websocket  # websocket-client, a dependency of jupyter_server

    url = f"ws://127.0.0.1:{lab.base.rsplit(':', 1)[1]}/api/kernels/{kernel_id}/channels?token={lab.token}"
    ws = websocket.create_connection(url, timeout=KERNEL_TIMEOUT)
    try:
        msg_id = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "store_history": False, "allow_stdin": False},
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        stdout: list[str] = []
        status = ""
        idle = False  # iopub's "idle" comes after the request's last output; the shell reply may come first
        while not (status and idle):
            message = json.loads(ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "stream" and message["content"]["name"] == "stdout":
                stdout.append(message["content"]["text"])
            elif kind == "execute_reply":
                status = message["content"]["status"]
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                idle = True
        return {"status": status, "stdout": "".join(stdout)}
    finally:
        ws.close()
