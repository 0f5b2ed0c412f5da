"""config.settings.test with the anonymous and signed-in rate limits read from THROTTLE_RATE_ANON
and THROTTLE_RATE_CALLER, for the API servers of test_many_processes.py (the test settings
otherwise raise every limit out of the way)."""

from config.settings.test import *  # noqa: F403
from config.settings.test import REST_FRAMEWORK, env

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": env("THROTTLE_RATE_ANON"),
        "caller": env("THROTTLE_RATE_CALLER"),
    },
}
