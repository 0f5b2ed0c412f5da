from django.db.models import QuerySet

from apps.audit.models import AuditEvent


def audit_events() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.all()
