"""The embedded default: no DATABASE_URL, no broker — SQLite under var/ and in-process tasks."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, process_env

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _call(url: str, method: str = "GET", body=None, token: str | None = None, **headers):
    """(status, JSON body, headers) of one request to the server."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (loopback)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or "null"), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or "null"), exc.headers


@pytest.fixture
def embedded(tmp_path):
    """A migrated embedded-default database under tmp_path, and a way to start its server."""
    env = process_env(
        DJANGO_SETTINGS_MODULE="config.settings.local", SQLITE_PATH=str(tmp_path / "db.sqlite3")
    )
    # As scripts/run has it: none of what config.settings.test put in this process's environment.
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "CELERY_TASK_ALWAYS_EAGER",
        "MATCHING_TRIGGER_ON_CHANGE",
        "MATCHING_DEBOUNCE_SECONDS",
    ):
        env.pop(name, None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    servers = []

    def manage(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    def serve(*, log: Path | None = None, reload: bool = False) -> str:
        """runserver on a free port (its log written to ``log``); its base URL once it answers."""
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runserver",
                *([] if reload else ["--noreload"]),
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb") if log else subprocess.DEVNULL,
            start_new_session=True,  # the reloader's child goes with it
        )
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/livez")
                return base
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)

    yield manage, serve, env
    for server in servers:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def test_embedded_server_answers_health_and_schema(embedded):
    _manage, serve, _env = embedded
    base = serve()

    status, body = _get(f"{base}/healthz")
    assert status == 200, body
    health = json.loads(body)
    assert health["checks"]["database"]["vendor"] == "sqlite"
    assert health["checks"]["workers"]["mode"] == "in-process"

    status, body = _get(f"{base}/api/schema/?format=json")
    assert status == 200
    assert json.loads(body)["openapi"].startswith("3.")


def test_the_readmes_examples_run_on_the_embedded_default(embedded, tmp_path):
    """What scripts/run does (migrate, seed_demo, runserver), then the README's calls: anyone
    lists needs, a donor lists education needs, staff post a need with line items, submit it,
    a verifier approves it, a donor pledges twice with one Idempotency-Key."""
    manage, serve, _env = embedded
    env_file = tmp_path / "demo.env"
    manage("seed_demo", "--env-file", str(env_file))
    manage("seed_demo", "--env-file", str(env_file))  # scripts/run seeds on every start
    tokens = dict(line.split("=", 1) for line in env_file.read_text().split())
    api = serve() + "/api/v1"

    status, needs, _ = _call(f"{api}/needs/")
    assert status == 200 and needs["results"]
    status, _, _ = _call(
        f"{api}/needs/?sector=education&ordering=-urgency", token=tokens["DONOR_TOKEN"]
    )
    assert status == 200
    staff = tokens["FOOD_STAFF_TOKEN"]
    need = {
        "title": "Winter food packages, Paghman, 4 weeks",
        "sector": "food_security",
        "province": "AF01",
        "district": "AF0102",
        "currency": "USD",
        "urgency": 5,
        "deadline": (date.today() + timedelta(days=60)).isoformat(),
        "location_detail": "Collection point at the school gate",
        "line_items": [
            {"description": "Food package, family of 8", "unit_cost": "95.00", "quantity": 25}
        ],
    }
    status, posted, _ = _call(f"{api}/needs/", "POST", need, token=staff)
    assert (status, posted["amount"]) == (201, "2375.00"), posted
    status, _, _ = _call(f"{api}/needs/{posted['id']}/submit", "POST", token=staff)
    assert status == 200
    status, approved, _ = _call(
        f"{api}/needs/{posted['id']}/approve", "POST", token=tokens["VERIFIER_TOKEN"]
    )
    assert (status, approved.get("status")) == (200, "open"), approved

    pledge = {
        "amount": "2500.00",
        "currency": "USD",
        "earmark_sectors": ["food_security", "education"],
        "earmark_provinces": ["AF01", "AF32"],
        "commit_window": 72,
        "anonymous": True,
    }
    key = {"Idempotency_Key": "7d1c1c1e-2b7a-4f47-9d0e-4d7f1f0c2a11"}
    first = _call(f"{api}/pledges/", "POST", pledge, token=tokens["DONOR_TOKEN"], **key)
    again = _call(f"{api}/pledges/", "POST", pledge, token=tokens["DONOR_TOKEN"], **key)
    assert first[0] == again[0] == 201, (first[1], again[1])
    assert again[1]["id"] == first[1]["id"] and again[2]["Idempotent-Replayed"] == "true"

    status, body = _get(f"{api.removesuffix('/api/v1')}/healthz")
    assert status == 200, body


def _story(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/story.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_story_can_be_told_again_and_again_and_a_failure_says_why(embedded, tmp_path):
    """scripts/story.py against the demo world, twice: each run posts its own need and pledge,
    and finds the API through API= in the env file seed_demo wrote. A refused call stops it with
    the problem's detail and field errors."""
    manage, serve, env = embedded
    base = serve()
    env_file = tmp_path / "demo.env"
    manage("seed_demo", "--env-file", str(env_file), "--base-url", base)

    for _ in range(2):
        told = _story(env, "--env", str(env_file))
        assert told.returncode == 0, told.stdout[-3000:] + told.stderr[-3000:]
        assert "== 9. The donor reads the trace of the pledge" in told.stdout
        assert '"status": "received"' in told.stdout

    stopped = _story(env, "--env", str(env_file), "--amount", "1000.001")
    assert stopped.returncode == 1
    assert "/api/v1/pledges/ answered 400 Invalid input" in stopped.stderr
    assert "amount: At most 2 decimal places" in stopped.stderr

    unreachable = _story(
        env, "--env", str(env_file), "--base-url", f"http://127.0.0.1:{_free_port()}"
    )
    assert unreachable.returncode == 1
    assert "Is ./scripts/run serving there?" in unreachable.stderr


def test_one_log_line_per_event_on_the_embedded_default(embedded, tmp_path):
    """The reloader's line once, a 404 and a 400 once each, and no kombu warning about a missing
    hostname when tasks run in-process."""
    manage, serve, _env = embedded
    env_file = tmp_path / "demo.env"
    seeded = manage("seed_demo", "--env-file", str(env_file))  # enqueues matching in-process
    assert "No hostname was supplied" not in seeded.stderr
    tokens = dict(line.split("=", 1) for line in env_file.read_text().split())
    log = tmp_path / "server.log"
    api = serve(log=log, reload=True) + "/api/v1"

    missing = "/api/v1/needs/00000000-0000-0000-0000-000000000000/"
    assert _call(f"{api}/needs/00000000-0000-0000-0000-000000000000/")[0] == 404
    assert _call(f"{api}/auth/token", "POST", {})[0] == 400
    assert _call(f"{api}/needs/")[0] == 200
    pledge = {"amount": "100.00", "currency": "USD", "earmark_sectors": ["education"]}
    assert _call(f"{api}/pledges/", "POST", pledge, token=tokens["DONOR_TOKEN"])[0] == 201
    # A request's access line (plain in the embedded default; route patterns, never ids) is
    # written once it has answered: wait for the last one.
    deadline = time.monotonic() + 30
    while "aidmatch.request POST api/v1/pledges 201" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)

    lines = log.read_text().splitlines()
    assert sum("Watching for file changes" in line for line in lines) == 1, lines
    assert sum("GET api/v1/needs/<pk> 404" in line for line in lines) == 1, lines
    assert not [line for line in lines if missing in line or "000000000000" in line], lines
    assert sum("api/v1/auth/token" in line for line in lines) == 1, lines
    assert sum("GET api/v1/needs 200" in line for line in lines) == 1, lines
    assert all("[request_id=" in line for line in lines if "aidmatch.request" in line), lines
    assert not [line for line in lines if "No hostname was supplied" in line]
