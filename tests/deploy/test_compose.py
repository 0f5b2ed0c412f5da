"""compose.yaml, deploy/env.example and the Dockerfile: what a deployment from them gets.

No Docker daemon is needed: compose.yaml is validated against the Compose Specification's JSON
schema (tests/data/compose-spec) and its structure is read; the Dockerfile's stages are read.
"""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# The queues of the shared decision (settings.CELERY_QUEUE_NAMES once it names them).
SHARED_DECISION = ("default", "matching", "notify", "screening")
QUEUES = set(getattr(settings, "CELERY_QUEUE_NAMES", SHARED_DECISION))
# What config/settings/production.py refuses to start without, and what the entrypoint's
# check --deploy --fail-level WARNING stops on (METRICS_TOKEN: monitoring.W001).
REQUIRED_IN_PRODUCTION = {
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "FIELD_ENCRYPTION_KEYS",
    "DJANGO_ALLOWED_HOSTS",
    "METRICS_TOKEN",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / "deploy/env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value
    return pairs


def test_compose_yaml_is_valid_against_the_compose_specification(compose):
    schema = json.loads((ROOT / "tests/data/compose-spec/compose_spec.json").read_text())
    errors = [e.message for e in jsonschema.Draft201909Validator(schema).iter_errors(compose)]
    assert errors == []


def test_compose_runs_every_role_with_one_worker_per_queue(compose):
    services = compose["services"]
    commands = {name: s.get("command", []) for name, s in services.items()}
    consumed = {name: c[1] for name, c in commands.items() if c[:1] == ["worker"]}
    assert sorted(consumed.values()) == sorted(QUEUES)  # each queue once, no other
    for name, queue in consumed.items():
        assert name == f"worker-{queue}"
    assert [n for n, c in commands.items() if c == ["beat"]] == ["beat"]
    assert services["api"]["command"] == ["api"]
    assert {"postgres", "redis", "migrate"} <= set(services)


def test_every_app_container_waits_for_healthy_services_and_for_migrations(compose):
    services = compose["services"]
    for name in ["api", "beat", *(n for n in services if n.startswith("worker-"))]:
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
        assert services[name]["restart"] == "unless-stopped", name
    # Migrations run from one place: the one-off migrate service, never restarted.
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_services_that_serve_have_healthchecks_and_postgres_keeps_its_data(compose):
    services = compose["services"]
    for name in ["postgres", "redis", "api", *(n for n in services if n.startswith("worker-"))]:
        check = services[name]["healthcheck"]
        assert check["test"] and not check.get("disable"), name
    assert services["api"]["healthcheck"]["test"] == ["CMD", "python", "deploy/healthcheck.py"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "postgres-data" in compose["volumes"]


def test_the_example_env_has_every_key_production_requires_and_no_real_secret(compose):
    example = env_example()
    assert REQUIRED_IN_PRODUCTION <= set(example)
    for name in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS"):
        assert example[name] == "change-me", name  # a placeholder, refused by production
    assert example["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert set(example["HEALTH_REQUIRED_QUEUES"].split(",")) == QUEUES
    # Every app container reads it (a path that compose interpolates: deploy/.env by default).
    for name, service in compose["services"].items():
        if name not in ("postgres", "redis"):
            assert service["env_file"] == "${AIDMATCH_ENV_FILE:-deploy/.env}", name
    # The database the apps use is the one the postgres container creates.
    assert example["DATABASE_URL"] == (
        f"postgres://{example['POSTGRES_USER']}:{example['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{example['POSTGRES_DB']}"
    )


def dockerfile_stages() -> list[tuple[str, list[str]]]:
    """(FROM line, instructions) per stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("ARG "):
            continue
        if line.startswith("FROM "):
            stages.append((line, []))
        else:
            stages[-1][1].append(line)
    return stages


def test_the_image_is_built_in_two_stages_and_runs_unprivileged_without_compilers():
    (builder_from, builder), (runtime_from, runtime) = dockerfile_stages()
    assert builder_from.endswith(" AS builder") and runtime_from.endswith(" AS runtime")
    arg = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert arg and arg.group(1) == "python:3.11-slim-bookworm"
    assert any("build-essential" in i for i in builder)
    assert any("pip wheel" in i and "requirements.txt" in i for i in builder)
    # The translations are compiled in the builder (msgfmt) and copied: no gettext at run time.
    assert any("msgfmt --check" in i and "django.po" in i for i in builder)
    assert any("from=builder,source=/mo" in i for i in runtime)
    assert not any("gettext" in i for i in runtime)
    assert not any(re.search(r"build-essential|gcc|-dev\b", i) for i in runtime)
    assert any("pip install --no-index" in i for i in runtime)  # only the builder's wheels
    assert any("collectstatic --noinput" in i for i in runtime)
    users = [i.split()[1] for i in runtime if i.startswith("USER ")]
    assert users == ["aidmatch"]
    assert not any(i.startswith("ENV ") and "SECRET" in i for i in runtime)
    healthcheck = next(i for i in runtime if i.startswith("HEALTHCHECK "))
    assert "deploy/healthcheck.py" in healthcheck
    entrypoint = next(i for i in runtime if i.startswith("ENTRYPOINT "))
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT ")) == ["deploy/entrypoint.sh"]


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", ".env", "deploy/.env", "tests"):
        assert entry in ignored, entry
    assert "!deploy/env.example" in ignored
