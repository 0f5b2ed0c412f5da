"""/metrics: a bearer token guards it; after real actions its text says what happened."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from aidmatch.events import Audience, EventType
from apps.events.models import Event
from apps.events.relay import relay_pending
from apps.events.services import record_event
from apps.ledger.reconcile import reconcile_and_record
from apps.matching.services.runs import match_run_execute
from apps.screening.models import ScreeningHit
from tests.factories import NeedFactory, PledgeFactory

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> dict:
    """{(sample name, sorted labels): value} of one authorized scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_without_a_configured_token_metrics_is_not_there(anon, settings):
    settings.METRICS_TOKEN = ""
    assert anon.get("/metrics").status_code == 404
    assert anon.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_a_missing_or_wrong_token_is_refused(anon, token):
    missing = anon.get("/metrics")
    wrong = anon.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")

    assert missing.status_code == wrong.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"aidmatch_" not in missing.content + wrong.content


def test_a_request_is_counted_by_view_status_and_method(anon, token, donor_client):
    before = scrape(anon)
    donor_client.get("/api/v1/organizations/")
    donor_client.get("/api/v1/organizations/")
    after = scrape(anon)

    name = "django_http_responses_total_by_status_view_method_total"
    labels = {"status": "200", "view": "organization-list", "method": "GET"}
    assert value(after, name, **labels) - value(before, name, **labels) == 2
    latency = "django_http_requests_latency_seconds_by_view_method_count"
    labels = {"view": "organization-list", "method": "GET"}
    assert value(after, latency, **labels) - value(before, latency, **labels) == 2


def test_an_idempotent_replay_is_counted(anon, token, donor_client):
    body = {"name": "Bamyan Winter Relief", "kind": "ngo", "afghan_led": True}
    key = str(uuid.uuid4())
    before = value(scrape(anon), "aidmatch_idempotent_replays_total")

    first = donor_client.post("/api/v1/organizations/", body, HTTP_IDEMPOTENCY_KEY=key)
    again = donor_client.post("/api/v1/organizations/", body, HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert value(scrape(anon), "aidmatch_idempotent_replays_total") - before == 1


def test_the_latest_matching_run_reports_its_duration_and_the_proposals_it_changed(anon, token):
    PledgeFactory(amount=Decimal("1000.00"))
    NeedFactory(amount=Decimal("600.00"), urgency=5)
    NeedFactory(amount=Decimal("600.00"), urgency=2)

    run = match_run_execute(trigger="manual", mode="full")
    samples = scrape(anon)

    assert run.status == "succeeded" and run.created == 2
    duration = (run.finished_at - run.started_at).total_seconds()
    assert value(samples, "aidmatch_matching_last_run_duration_seconds", mode="full") == duration
    assert value(samples, "aidmatch_matching_last_run_proposals_changed", mode="full") == 2
    assert value(
        samples, "aidmatch_matching_last_run_finished_timestamp_seconds", mode="full"
    ) == pytest.approx(run.finished_at.timestamp())
    assert ("aidmatch_matching_last_run_duration_seconds", (("mode", "incremental"),)) not in (
        samples
    )
    assert value(samples, "aidmatch_matching_runs", status="queued") == 0


def test_outbox_lag_is_the_age_and_count_of_committed_events_not_yet_relayed(anon, token):
    for n in range(3):
        record_event(
            EventType.PLEDGE_CREATED,
            resource_id=f"r{n}",
            payloads={Audience.DONOR: {"id": f"r{n}"}},
        )
    Event.objects.filter(resource_id="r0").update(occurred_at=timezone.now() - timedelta(minutes=5))

    waiting = scrape(anon)
    relay_pending()
    relayed = scrape(anon)

    assert value(waiting, "aidmatch_outbox_unrelayed_events") == 3
    assert 300 <= value(waiting, "aidmatch_outbox_oldest_unrelayed_age_seconds") < 3600
    assert value(relayed, "aidmatch_outbox_unrelayed_events") == 0
    assert value(relayed, "aidmatch_outbox_oldest_unrelayed_age_seconds") == 0


def test_the_outbox_counts_each_proposal_of_a_runs_batch_as_an_event(anon, token, monkeypatch):
    from apps.events import payloads

    monkeypatch.setattr(payloads, "BATCH_ROWS", 2)
    for _ in range(3):
        NeedFactory(amount=Decimal("100.00"))
    PledgeFactory(amount=Decimal("1000.00"))
    run = match_run_execute(trigger="manual", mode="full")
    assert run.created == 3 and Event.objects.filter(position__isnull=True).count() == 2

    assert value(scrape(anon), "aidmatch_outbox_unrelayed_events") == 3
    relay_pending()
    assert value(scrape(anon), "aidmatch_outbox_unrelayed_events") == 0


def test_open_screening_hits_are_counted_by_source(anon, token, org_x, org_y):
    def hit(org, source, resolution=""):
        return ScreeningHit.objects.create(
            organization=org,
            subject_kind="name",
            subject=org.name,
            subject_fingerprint=uuid.uuid4().hex,
            source=source,
            list_version="v1",
            entry_ref=uuid.uuid4().hex[:10],
            matched_name="X",
            score=Decimal("90.00"),
            resolution=resolution,
        )

    hit(org_x, "un")
    hit(org_y, "un")
    hit(org_x, "ofac")
    hit(org_y, "ofac", resolution="false_positive")

    samples = scrape(anon)
    text = anon.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    assert value(samples, "aidmatch_screening_open_hits", source="un") == 2
    assert value(samples, "aidmatch_screening_open_hits", source="ofac") == 1
    assert org_x.name not in text and org_y.name not in text  # no names in labels


def test_the_last_ledger_reconcile_is_reported(anon, token, donor):
    assert ("aidmatch_ledger_reconcile_ok", ()) not in scrape(anon)  # none recorded yet

    run = reconcile_and_record()
    samples = scrape(anon)

    assert run.ok
    assert value(samples, "aidmatch_ledger_reconcile_ok") == 1
    assert value(samples, "aidmatch_ledger_reconcile_differences") == 0
    assert value(samples, "aidmatch_ledger_reconcile_last_timestamp_seconds") == pytest.approx(
        run.finished_at.timestamp()
    )


def test_every_part_is_read_without_error_and_tasks_in_process_are_counted(anon, token):
    from apps.core.tasks import purge_idempotency_records

    before = value(
        scrape(anon),
        "aidmatch_celery_tasks_total",
        task=purge_idempotency_records.name,
        state="SUCCESS",
    )
    purge_idempotency_records.delay()  # in-process (eager) here
    samples = scrape(anon)

    for part in ("matching", "queues", "outbox", "webhooks", "screening", "reconcile"):
        assert value(samples, "aidmatch_scrape_errors", part=part) == 0
    assert (
        value(
            samples,
            "aidmatch_celery_tasks_total",
            task=purge_idempotency_records.name,
            state="SUCCESS",
        )
        - before
        == 1
    )


def test_the_deploy_check_warns_while_metrics_has_no_token(settings):
    from apps.monitoring.checks import metrics_token_set

    settings.METRICS_TOKEN = ""
    (unset,) = metrics_token_set(None)
    settings.METRICS_TOKEN = "change-me"
    (placeholder,) = metrics_token_set(None)
    settings.METRICS_TOKEN = "m" * 32

    assert unset.id == placeholder.id == "monitoring.W001"
    assert "not set" in unset.msg and "shorter than 32" in placeholder.msg
    assert metrics_token_set(None) == []
