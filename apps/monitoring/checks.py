from django.conf import settings
from django.core.checks import Tags, Warning, register

# A bearer token shorter than this is a placeholder ("change-me") or guessable.
MIN_TOKEN_LENGTH = 32


@register(Tags.security, deploy=True)
def metrics_token_set(app_configs, **kwargs):
    token = settings.METRICS_TOKEN
    if len(token) >= MIN_TOKEN_LENGTH:
        return []
    problem = (
        f"METRICS_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters: anyone who guesses it "
        "reads /metrics."
        if token
        else "METRICS_TOKEN is not set: /metrics answers 404 and Prometheus cannot scrape it."
    )
    return [
        Warning(
            problem,
            hint="Set METRICS_TOKEN to a long random value and give it to Prometheus "
            "(authorization: credentials).",
            id="monitoring.W001",
        )
    ]
