from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def metrics_token_set(app_configs, **kwargs):
    if settings.METRICS_TOKEN:
        return []
    return [
        Warning(
            "METRICS_TOKEN is not set: /metrics answers 404 and Prometheus cannot scrape it.",
            hint="Set METRICS_TOKEN to a long random value and give it to Prometheus "
            "(authorization: credentials).",
            id="monitoring.W001",
        )
    ]
