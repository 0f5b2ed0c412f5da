"""A webhook delivery that shows confidential fields is an audited read, like the API response
that would show them: the receiver's endpoint is the reader."""

import pytest

from apps.audit.models import AuditEvent
from apps.needs import services as needs
from apps.webhooks import services
from apps.webhooks.models import Delivery, DeliveryStatus, OwnerKind
from tests.factories import NeedFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

PLACE = "Behind the blue mosque, third lane, house 14"


def test_a_delivered_need_with_its_exact_location_is_an_audited_read(
    receiver, loopback_allowed, django_capture_on_commit_callbacks
):
    org = OrganizationFactory()
    endpoint = services.endpoint_create(
        owner_kind=OwnerKind.ORGANIZATION, organization=org, url=receiver.url
    )
    need = NeedFactory(organization=org, status="draft", location_detail=PLACE)

    with django_capture_on_commit_callbacks(execute=True):
        needs.need_submit(need_id=need.pk)  # the eager relay fans out; the attempt runs here

    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert PLACE.encode() in receiver.requests[0].body
    read = AuditEvent.objects.get(action="confidential.read", actor=f"webhook:{endpoint.pk}")
    assert (read.object_type, read.object_id) == ("need", str(need.pk))
    assert "location_detail" in read.detail["fields"]
    assert read.detail["event"] == delivery.event.public_id
    assert PLACE not in str(read.detail)  # the field by name, never its value


def test_a_failed_attempt_records_no_read(
    receiver, loopback_allowed, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 500, 500, 500]
    org = OrganizationFactory()
    services.endpoint_create(owner_kind=OwnerKind.ORGANIZATION, organization=org, url=receiver.url)
    need = NeedFactory(organization=org, status="draft", location_detail=PLACE)

    with django_capture_on_commit_callbacks(execute=True):
        needs.need_submit(need_id=need.pk)

    assert receiver.requests and receiver.requests[0].status == 500
    assert not AuditEvent.objects.filter(action="confidential.read").exists()
