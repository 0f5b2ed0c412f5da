"""deploy/entrypoint.sh, run as the container runs it (outside Docker): it checks the production
configuration with `check --deploy` before it becomes any role, and refuses to start on a gap."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy/entrypoint.sh"


def production_env(**overrides: str) -> dict[str, str]:
    """A complete production environment (a throwaway secret and key), as deploy/.env gives."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "s" * 20 + "-a-throwaway-secret-for-this-test-only-" + "k" * 20,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
        "DJANGO_ALLOWED_HOSTS": "api.example.org",
        "METRICS_TOKEN": "a-throwaway-metrics-token-for-this-test-only",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ENTRYPOINT), *args],
        env=production_env(**env),
        cwd="/",  # the script finds the project from its own path, as in the image
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_with_a_full_environment_it_checks_the_deployment_then_runs_the_command():
    done = run("sh", "-c", 'echo "running with $DJANGO_SETTINGS_MODULE in $PWD"')

    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout  # check --deploy ran first
    assert done.stdout.rstrip().endswith(f"running with config.settings.production in {ROOT}")


def test_without_a_secret_key_it_says_so_and_starts_nothing():
    done = run("sh", "-c", "echo started", DJANGO_SECRET_KEY=None)

    assert done.returncode == 78  # EX_CONFIG
    assert "started" not in done.stdout
    assert done.stderr.strip() == (
        "entrypoint: DJANGO_SECRET_KEY is not set (production settings need it; see "
        "deploy/env.example)"
    )


def test_a_secret_key_too_short_is_refused_by_the_settings_it_loads():
    done = run("sh", "-c", "echo started", DJANGO_SECRET_KEY="short")

    assert done.returncode == 78 and "started" not in done.stdout
    assert "DJANGO_SECRET_KEY must be set (at least 50 characters)." in done.stderr
    assert done.stderr.rstrip().endswith(
        "entrypoint: manage.py check --deploy failed (above): fix the configuration before starting"
    )


def test_a_deployment_warning_is_enough_to_refuse_to_start():
    # HSTS off: `check --deploy` warns (security.W004); warnings fail the start.
    done = run("sh", "-c", "echo started", DJANGO_SECURE_HSTS_SECONDS="0")

    assert done.returncode == 78 and "started" not in done.stdout
    assert "security.W004" in done.stderr


def test_a_worker_must_be_told_its_queue():
    done = run("worker")

    assert done.returncode == 78
    assert "worker needs its queue(s)" in done.stderr


def test_the_manage_role_runs_a_management_command_with_the_production_settings():
    done = run("manage", "shell", "-c", "from django.conf import settings; print(settings.DEBUG)")

    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("False")


def test_without_a_metrics_token_the_deploy_check_stops_the_start():
    done = run("sh", "-c", "echo started", METRICS_TOKEN=None)

    assert done.returncode == 78
    assert "started" not in done.stdout
    assert "monitoring.W001" in done.stderr + done.stdout


def test_the_prometheus_directory_starts_empty(tmp_path):
    counts = tmp_path / "prometheus"
    counts.mkdir()
    (counts / "counter_1234.db").write_bytes(b"stale counts of a process before the restart")

    done = run(
        "sh",
        "-c",
        'ls -A "$PROMETHEUS_MULTIPROC_DIR"; echo listed',
        PROMETHEUS_MULTIPROC_DIR=str(counts),
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("listed") and "counter_1234.db" not in done.stdout
    assert counts.is_dir() and list(counts.iterdir()) == []
