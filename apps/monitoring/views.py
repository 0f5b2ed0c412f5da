import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from apps.core.metrics import process_registry
from apps.monitoring.collectors import DomainCollector


class _Forward:
    """The collectors of another registry, as one collector."""

    def __init__(self, registry) -> None:
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()


def authorized(request) -> bool:
    given = request.headers.get("Authorization", "").encode()
    return hmac.compare_digest(given, f"Bearer {settings.METRICS_TOKEN}".encode())


@require_GET
def metrics(request):
    """Prometheus text: this process's (or its process group's) counters and histograms, and
    the domain's figures read from the database now. Bearer METRICS_TOKEN; unset: 404."""
    if not settings.METRICS_TOKEN:
        raise Http404
    if not authorized(request):
        return HttpResponse(
            "Unauthorized\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry = CollectorRegistry()
    registry.register(_Forward(process_registry()))
    registry.register(DomainCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
