"""The test suite: real PostgreSQL and Redis on loopback unless the environment names others."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aidmatch")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Tasks run for real; the tests that need a worker process start one (tests/integration).
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# Matching after every change is switched on by the tests about it (tests/apps/matching), so
# that the other tests see exactly the proposals they make.
os.environ.setdefault("MATCHING_TRIGGER_ON_CHANGE", "false")
os.environ.setdefault("MATCHING_DEBOUNCE_SECONDS", "0.5")

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"caller": "100000/min", "anon": "100000/min", "auth": "100000/min"},
}
# Like the rates above: the tests about the sign-in limit set their own.
LOGIN_FAILURE_LIMIT = 100000
