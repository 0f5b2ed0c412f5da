"""JSON logs: one access line per request (route pattern, status, duration, the caller as ids),
and every line of the request, and of the tasks it runs, carries the request's id."""

import io
import json
import logging
import uuid
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.http import HttpResponse

from aidmatch.events import Audience, EventType
from apps.core.logs import HEADER, redact, route_pattern
from apps.core.middleware import RequestIdMiddleware
from apps.events.services import record_event
from apps.events.tasks import relay_events
from apps.pledges.models import Pledge
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, PledgeFactory, UserFactory

pytestmark = pytest.mark.django_db


@contextmanager
def log_output():
    """What the configured console handler (settings.LOGGING) writes, as parsed JSON lines."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        text = buffer.getvalue()
        lines.extend(json.loads(line) for line in text.splitlines() if line.strip())
        lines.append({"__raw__": text})


def access_lines(lines):
    return [line for line in lines if line.get("logger") == "aidmatch.request"]


def test_a_request_writes_one_json_access_line_with_the_route_and_the_caller_as_ids(donor):
    pledge = PledgeFactory(donor=donor, amount=Decimal("250.00"))
    client = client_for(donor)

    with log_output() as lines:
        response = client.get(f"/api/v1/pledges/{pledge.pk}", HTTP_X_REQUEST_ID="req-abc.1")

    assert response.status_code == 200
    (line,) = access_lines(lines)
    assert line["request_id"] == response["X-Request-ID"] == "req-abc.1"
    assert line["method"] == "GET"
    assert line["route"] == "api/v1/pledges/<pk>"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] == str(donor.pk)
    assert line["level"] == "INFO" and line["time"]
    raw = lines[-1]["__raw__"]
    assert donor.email not in raw and donor.full_name not in raw
    assert str(pledge.pk) not in line["route"]


def test_an_api_key_caller_is_named_by_its_prefix_and_organization(org_x):
    key, secret = ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])
    client = client_for(api_key=secret)

    with log_output() as lines:
        response = client.get("/api/v1/needs/")

    (line,) = access_lines(lines)
    assert line["status"] == response.status_code
    assert line["api_key"] == key.prefix
    assert line["organization_id"] == str(org_x.pk)
    assert "user_id" not in line
    raw = lines[-1]["__raw__"]
    assert secret not in raw and org_x.name not in raw


def test_a_4xx_is_one_line_and_its_query_string_is_never_logged(donor_client):
    with log_output() as lines:
        response = donor_client.get(f"/api/v1/pledges/{uuid.uuid4()}?email=someone%40example.org")

    assert response.status_code == 404
    logged = [line for line in lines if "logger" in line]
    assert [(line["logger"], line["status"]) for line in logged] == [("aidmatch.request", 404)]
    assert logged[0]["request_id"] == response["X-Request-ID"]
    assert logged[0]["route"] == "api/v1/pledges/<pk>"
    assert "someone" not in lines[-1]["__raw__"]


def test_every_line_written_while_a_request_runs_carries_its_id(rf):
    def view(request):
        logging.getLogger("apps.somewhere").warning("working on it")
        return HttpResponse("ok")

    with log_output() as lines:
        response = RequestIdMiddleware(view)(rf.get("/anything", HTTP_X_REQUEST_ID="rid-7"))

    assert response["X-Request-ID"] == "rid-7"
    working, access = [line for line in lines if "logger" in line]
    assert (working["message"], working["request_id"]) == ("working on it", "rid-7")
    assert (access["logger"], access["request_id"]) == ("aidmatch.request", "rid-7")
    with log_output() as after:
        logging.getLogger("apps.somewhere").warning("outside")
    assert after[0]["request_id"] == ""


def test_an_unmatched_path_is_logged_without_its_text(anon):
    with log_output() as lines:
        anon.get("/no/such/page/secret-token-123")

    (line,) = access_lines(lines)
    assert line["status"] == 404
    assert "secret-token-123" not in line["route"]


def test_a_task_run_in_process_carries_the_request_id_given_in_its_headers(donor):
    record_event(EventType.PLEDGE_CREATED, resource_id="r1", payloads={Audience.DONOR: {}})

    with log_output() as lines:
        relay_events.apply_async(headers={HEADER: "from-the-request"})

    (relayed,) = [line for line in lines if line.get("message") == "relayed 1 events"]
    assert relayed["request_id"] == "from-the-request"
    assert relayed["task_name"] == relay_events.name
    assert relayed["task_id"]


@pytest.mark.parametrize(
    ("route", "label"),
    [
        ("api/v1/^pledges/(?P<pk>[0-9]{1,18})/?$", "api/v1/pledges/<pk>"),
        ("api/v1/^needs/(?P<pk>[^/.]{1,64})/(?P<part>(a|b))/?$", "api/v1/needs/<pk>/<part>"),
        ("api/v1/organizations/<int:pk>/members", "api/v1/organizations/<int:pk>/members"),
        ("^api(?:/|$)", "api(?:/|)"),
        ("healthz", "healthz"),
    ],
)
def test_routes_are_labelled_by_their_pattern(route, label):
    assert route_pattern(route) == label


def test_a_database_error_s_row_values_never_reach_the_log(donor):
    with log_output() as lines:
        try:
            with transaction.atomic():
                UserFactory(email=donor.email)
        except IntegrityError:
            logging.getLogger("apps.somewhere").exception("could not add the user")

    (line,) = [line for line in lines if line.get("message") == "could not add the user"]
    assert "IntegrityError" in line["exc_info"] and "DETAIL:  [values left out" in line["exc_info"]
    assert donor.email not in lines[-1]["__raw__"]


def test_a_row_value_with_line_breaks_is_left_out_whole():
    """A value spanning lines (a message, an address) spills the DETAIL over several lines:
    none of them reaches the log, and what follows the DETAIL (a HINT, a chained traceback)
    does."""
    pledge = PledgeFactory(public_message="For the school\nin Bamyan, ask for Zarmina")
    with log_output() as lines:
        try:
            with transaction.atomic():
                Pledge.objects.filter(pk=pledge.pk).update(amount=Decimal("-1"))
        except IntegrityError:
            logging.getLogger("apps.somewhere").exception("could not change the pledge")

    (line,) = [line for line in lines if line.get("message") == "could not change the pledge"]
    text = line["exc_info"]
    assert "Failing row" not in text and "Zarmina" not in text and "Bamyan" not in text
    assert text.count("DETAIL:  [values left out of the log]") == 2  # psycopg2's, then Django's
    assert "The above exception was the direct cause" in text
    assert "pledge_amount_non_negative" in text
    left_out = redact("x\nDETAIL:  a\nb\nHINT:  do y")
    assert left_out == "x\nDETAIL:  [values left out of the log]\nHINT:  do y"
