"""seed_demo prints, and writes to its env file, the URL scripts/run serves (HOST, PORT), and the
demo tokens' real lifetime (TOKEN_TTL_DAYS)."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import CONSTANTS

pytestmark = pytest.mark.django_db


def seed(tmp_path, *args: str) -> tuple[str, dict[str, str]]:
    out = io.StringIO()
    env_file = tmp_path / "demo.env"
    call_command("seed_demo", "--env-file", str(env_file), *args, stdout=out)
    return out.getvalue(), dict(line.split("=", 1) for line in env_file.read_text().split())


def test_the_port_of_scripts_run_is_printed_and_written(tmp_path, monkeypatch):
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.setenv("PORT", "8011")

    printed, env = seed(tmp_path)

    assert "http://127.0.0.1:8011/api/v1/organizations/" in printed
    assert ":8000" not in printed
    assert env["API"] == "http://127.0.0.1:8011/api/v1"
    assert env["BASE_URL"] == "http://127.0.0.1:8011"


def test_a_server_on_every_address_is_reached_on_loopback(tmp_path, monkeypatch):
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104
    monkeypatch.setenv("PORT", "9000")
    assert seed(tmp_path)[1]["API"] == "http://127.0.0.1:9000/api/v1"
    monkeypatch.setenv("HOST", "::")
    assert seed(tmp_path)[1]["API"] == "http://[::1]:9000/api/v1"


def test_a_base_url_given_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORT", "8011")

    printed, env = seed(tmp_path, "--base-url", "https://demo.example.org/")

    assert "https://demo.example.org/api/v1/organizations/" in printed
    assert env["API"] == "https://demo.example.org/api/v1"


@pytest.mark.parametrize("days", [7, 3])
def test_the_tokens_live_as_long_as_token_ttl_days_says_and_are_printed_so(
    tmp_path, settings, days
):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(days=days)}

    printed, env = seed(tmp_path)

    assert f"Bearer tokens (valid {days} days, until " in printed
    assert "30 days" not in printed
    token = AuthToken.objects.get(token_key=env["DONOR_TOKEN"][: CONSTANTS.TOKEN_KEY_LENGTH])
    assert token.expiry - timezone.now() <= timedelta(days=days)
    assert token.expiry - timezone.now() > timedelta(days=days) - timedelta(hours=1)
