"""Which confidential fields an event's body shows: the feed and the webhooks audit them as
reads, as the API's own response showing them would be (``apps/audit/reads.py``)."""

from collections.abc import Iterator


def _confidential():
    """What the API's serializers call confidential, per resource type (and what in it)."""
    from apps.needs.api.serializers import NeedFullSerializer
    from apps.needs.models import Need
    from apps.organizations.api.serializers import OrganizationSerializer
    from apps.organizations.models import Organization
    from apps.reports.api.serializers import EvidenceSerializer
    from apps.reports.models import EvidenceFile

    return {
        "need": (Need, NeedFullSerializer.confidential_fields),
        "organization": (Organization, OrganizationSerializer.confidential_fields),
        "evidence": (EvidenceFile, EvidenceSerializer.confidential_fields),
    }


def confidential_shown(body: dict) -> Iterator[tuple[object, list[str]]]:
    """(an unsaved model instance naming the object, the confidential fields shown) for each
    object of the body that shows any."""
    from apps.audit.reads import _revealed

    kinds = _confidential()
    data = body["data"]
    shown = [(body["resource"]["type"], data)]
    shown += [("evidence", item) for item in data.get("evidence") or ()]
    for kind, item in shown:
        if kind not in kinds or "id" not in item:
            continue
        model, fields = kinds[kind]
        revealed = [f for f in fields if _revealed(item.get(f))]
        if revealed:
            yield model(pk=item["id"]), revealed


def note_confidential_reads(body: dict) -> None:
    """Note the body's confidential fields as read by the caller of the current request."""
    from apps.audit.reads import note_confidential_read

    for obj, fields in confidential_shown(body):
        note_confidential_read(obj, fields)


def record_delivered_reads(body: dict, *, actor: str, detail: dict) -> None:
    """A webhook delivery accepted by its receiver: one audited read per object it showed."""
    from apps.audit.reads import ACTION
    from apps.audit.services import audit_record_many, object_id_of, object_type_of

    audit_record_many(
        {
            "actor": actor,
            "action": ACTION,
            "object_type": object_type_of(obj),
            "object_id": object_id_of(obj),
            "detail": {"fields": sorted(fields), **detail},
        }
        for obj, fields in confidential_shown(body)
    )
