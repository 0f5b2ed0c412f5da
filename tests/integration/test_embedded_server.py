"""The embedded default: no DATABASE_URL, no broker — SQLite under var/ and in-process tasks."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

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


def test_embedded_server_answers_health_and_schema(tmp_path):
    env = process_env(
        DJANGO_SETTINGS_MODULE="config.settings.local", SQLITE_PATH=str(tmp_path / "db.sqlite3")
    )
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"{base}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)

        assert status == 200, body
        health = json.loads(body)
        assert health["checks"]["database"]["vendor"] == "sqlite"
        assert health["checks"]["workers"]["mode"] == "in-process"

        status, body = _get(f"{base}/api/schema/?format=json")
        assert status == 200
        assert json.loads(body)["openapi"].startswith("3.")
    finally:
        server.terminate()
        server.wait(timeout=10)
