"""Settings shared by every environment, read through one environment object.

Without ``DATABASE_URL`` the service runs on an embedded SQLite database under ``var/`` and runs
Celery tasks in-process (the embedded default for a first run, a demo or a laptop). With
``DATABASE_URL=postgres://…`` and ``REDIS_URL``/``CELERY_BROKER_URL`` it runs on PostgreSQL with
real Celery workers.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue
from pythonjsonlogger.core import RESERVED_ATTRS as JSON_LOG_RESERVED_ATTRS

from aidmatch.events import EventType, resource_of
from aidmatch.lifecycle import AllocationStatus, DisbursementStatus, NeedStatus

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-embedded-default-do-not-use-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    # The field portal for NGO staff (server-rendered pages). First, so that its Dari and Pashto
    # catalogs win over Django's Persian one where Afghan usage differs (locale/GLOSSARY.md:
    # رمز عبور, not گذرواژه); LOCALE_PATHS still win over it.
    "apps.portal",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "apps.core",
    "apps.accounts",
    "apps.reference",
    "apps.organizations",
    "apps.needs",
    "apps.pledges",
    "apps.matching",
    "apps.ledger",  # the double-entry ledger (accounts, transactions, legs, reconcile)
    "apps.disbursements",
    "apps.reports",
    "apps.screening",
    "apps.public",
    "apps.funding",  # /funding/: the public funding page (figures from apps.public)
    "apps.audit",  # append-only, hash-chained audit trail
    "apps.fx",  # exchange-rate snapshots
    "apps.events",  # the outbox: events for the feed and the webhooks
    "apps.notices",  # emails driven by the outbox (proposals to commit, tranches sent)
    "apps.webhooks",  # signed webhook deliveries from the outbox
    "apps.opendata",  # IATI, HXL, flows: what may be published, and the exports
    "apps.statements",  # donors' giving statements (JSON, CSV, PDF)
    "apps.demo",
    "django_prometheus",  # request counts and latencies by view (/metrics: apps.monitoring)
    "apps.monitoring",  # /metrics: the process's counters and the domain's figures
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first and last: the whole time
    "corsheaders.middleware.CorsMiddleware",  # it answers preflights itself
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.CreatedLocationMiddleware",  # Location of what a 201 created
    "apps.audit.middleware.AuditMiddleware",  # actor, request id, confidential reads
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the answer: the language cookie (set by the portal's switch), then
    # Accept-Language; English when neither names one of LANGUAGES. Machine fields stay English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# --- CORS (django-cors-headers) ------------------------------------------------------------------
# Browsers may call the API from these origins only (comma-separated, scheme and host, e.g.
# "https://app.example.org,https://partner.example"); none by default. Credentials travel in the
# Authorization header (bearer token or Api-Key), never in cookies, so no credentialed CORS.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "idempotency-key",
    "if-match",
    "x-request-id",
)
# What a browser client may read of a response: the created object's URL, the replay flag of
# an idempotent POST, when to retry after a 429, a need's version, and the request id.
CORS_EXPOSE_HEADERS = ("Location", "Idempotent-Replayed", "Retry-After", "ETag", "X-Request-ID")
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=3600)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind PgBouncer in transaction pooling mode: true, since a server-side cursor (what
    # QuerySet.iterator() uses, WITH HOLD outside a transaction) lives in one server session.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", default=str(VAR_DIR / "aidmatch.sqlite3")),
            "OPTIONS": {
                # Writers take the lock when the transaction begins, so writes serialize instead
                # of failing half-way with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
EMBEDDED = not DATABASE_URL

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# English, Dari and Pashto. Dari is "fa": browsers and phones set to Dari send fa-AF (or prs,
# prs, ISO 639-3 for Dari, which falls back to fa below), and Django's and DRF's own Persian
# catalogs then apply; our catalogs override them where Afghan usage differs (docs/glossary.md).
# Pashto is "ps" (pbt/pbu, its ISO 639-3 variants, fall back to it), which Django does not know.
LANG_INFO.update(
    {
        "ps": {"bidi": True, "code": "ps", "name": "Pashto", "name_local": "پښتو"},
        "prs": {"fallback": ["fa"]},
        "prs-af": {"fallback": ["fa"]},  # a regional tag tries only itself and "prs"
        "pbt": {"fallback": ["ps"]},
        "pbt-af": {"fallback": ["ps"]},
        "pbu": {"fallback": ["ps"]},
        "pbu-af": {"fallback": ["ps"]},
    }
)
LANGUAGES = [("en", "English"), ("fa", "دری"), ("ps", "پښتو")]
# Right-to-left: Dari and Pashto (Django's own list knows fa but not ps; pages read dir from it).
LANGUAGES_BIDI = ["fa", "ps"]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "aidmatch_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
APPEND_SLASH = False
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# Bodies larger than this are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# JSON bodies nested deeper than this (arrays and objects) are refused with 400 before parsing.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)

# --- Cache, broker, Celery ------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# In-process tasks still pass through a broker connection object: naming its host keeps kombu
# from warning "No hostname was supplied" at the first task.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
# With no broker configured, tasks run in-process, in the request that enqueues them.
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL.startswith("memory://")
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = False  # opted into per task, for idempotent tasks only
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A dead broker must not hold a request: connecting gives up after this many seconds and a
# publish is retried once, so sending a task fails within a few seconds at worst (at once when
# the port is closed). A task that could not be sent is logged and the request still succeeds;
# the periodic sweep catches up once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# A message taken by a worker that dies unacknowledged goes back to the queue after this long
# (Redis): keep it above the longest task's run time. RabbitMQ puts it back as soon as the
# worker's connection closes, and takes none of these options (README, "Brokers").
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    }
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://"))
    else {}
)
# Queues (README, "Queues and workers"): one worker command per queue, so that a long matching
# run never holds back a webhook or a screening chunk. Every task is routed by name; a task
# named in no route goes to `default`.
CELERY_QUEUE_NAMES = ("default", "matching", "notify", "screening")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in CELERY_QUEUE_NAMES
)
CELERY_TASK_ROUTES = {
    # matching (run by `-Q matching --concurrency 1`: runs take the matching lock one at a time)
    "apps.matching.tasks.run_matching": {"queue": "matching"},
    "apps.matching.tasks.sweep_matching": {"queue": "matching"},
    "apps.matching.tasks.release_overdue_proposals": {"queue": "matching"},
    # notify: the outbox relay and the webhook deliveries
    "apps.events.tasks.relay_events": {"queue": "notify"},
    "apps.webhooks.tasks.dispatch_webhooks": {"queue": "notify"},
    "apps.webhooks.tasks.send_deliveries": {"queue": "notify"},
    # screening
    "apps.screening.tasks.rescreen_all_organizations": {"queue": "screening"},
    "apps.screening.tasks.screen_organizations": {"queue": "screening"},
    # default: housekeeping (purges, expiry sweeps, pledge schedules, the ledger's reconcile)
    "apps.events.tasks.purge_old_events": {"queue": "default"},
    "apps.webhooks.tasks.purge_webhook_log": {"queue": "default"},
    "apps.core.tasks.purge_idempotency_records": {"queue": "default"},
    "apps.accounts.tasks.purge_expired_tokens": {"queue": "default"},
    "apps.disbursements.tasks.flag_unconfirmed_tranches": {"queue": "default"},
    "apps.needs.tasks.expire_overdue_needs": {"queue": "default"},
    "apps.pledges.tasks.expire_due_pledges": {"queue": "default"},
    "apps.pledges.tasks.make_due_scheduled_pledges": {"queue": "default"},
    "apps.ledger.tasks.reconcile_ledger": {"queue": "default"},
    # tasks added later to these apps (names above win over these patterns)
    "apps.matching.tasks.*": {"queue": "matching"},
    "apps.events.tasks.*": {"queue": "notify"},
    "apps.webhooks.tasks.*": {"queue": "notify"},
    "apps.notices.tasks.*": {"queue": "notify"},
    "apps.screening.tasks.*": {"queue": "screening"},
}
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TIMEZONE = "UTC"

# --- Metrics (apps.monitoring, apps.core.metrics) ------------------------------------------------
# /metrics answers only a request with "Authorization: Bearer <METRICS_TOKEN>"; unset: 404.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# A worker serves its own task counts and durations on this port (none: not served).
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDRESS = env("WORKER_METRICS_ADDRESS", default="")
# Request latency buckets of django-prometheus (seconds).
PROMETHEUS_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# --- Exchange rates -----------------------------------------------------------------------------
# A rate dated more than this many days before the day of a conversion is not used: converting
# is refused (422 naming the pair and the rate's date) and matching leaves the currency out.
FX_MAX_RATE_AGE_DAYS = max(0, env.int("FX_MAX_RATE_AGE_DAYS", default=7))

# --- Matching -----------------------------------------------------------------------------------
# Pledges and needs in other currencies are converted into this one for the solver.
MATCHING_POOL_CURRENCY = env("MATCHING_POOL_CURRENCY", default="USD")
# Changes within this many seconds share one full run.
MATCHING_DEBOUNCE_SECONDS = env.float("MATCHING_DEBOUNCE_SECONDS", default=5.0)
# Pledges and needs with less than this many minor units of the pool currency left are not
# matched (100 = 1.00 USD): rounding dust would otherwise become proposals of a cent.
MATCHING_MIN_UNITS = env.int("MATCHING_MIN_UNITS", default=100)
# A new pledge whose row or needs another transaction holds (a full run's write) is tried again
# within this many seconds; what is still left then waits for the debounced full run.
MATCHING_INCREMENTAL_RETRY_SECONDS = env.float("MATCHING_INCREMENTAL_RETRY_SECONDS", default=10.0)
# Enqueue matching after pledge, need and allocation changes (the periodic sweep runs anyway).
MATCHING_TRIGGER_ON_CHANGE = env.bool("MATCHING_TRIGGER_ON_CHANGE", default=True)
# One full run at a time holds the "matching" lease (a row, apps/core/leases.py), and each run
# has its own lease on its MatchRun row; both last this long and the running worker renews them
# every MATCHING_LEASE_HEARTBEAT_SECONDS (a third of it). A run whose lease ran out (its worker
# died) is retried, at most MATCHING_RUN_MAX_ATTEMPTS deliveries in all, and the next run takes
# the matching lease over.
MATCHING_RUN_LEASE_SECONDS = env.int("MATCHING_RUN_LEASE_SECONDS", default=60)
MATCHING_LEASE_HEARTBEAT_SECONDS = env.float(
    "MATCHING_LEASE_HEARTBEAT_SECONDS", default=MATCHING_RUN_LEASE_SECONDS / 3
)
# A run that waits for the matching lease (in-process runs; a worker's delivery defers instead)
# gives up with MatchingBusy after this long: a run ends within the task time limit.
MATCHING_LOCK_WAIT_SECONDS = env.float("MATCHING_LOCK_WAIT_SECONDS", default=CELERY_TASK_TIME_LIMIT)
MATCHING_RUN_MAX_ATTEMPTS = env.int("MATCHING_RUN_MAX_ATTEMPTS", default=3)
# How often beat's sweep (and every worker) looks for runs whose worker died or whose message was
# lost: a dead run is retried within lease + this (90 s by default).
MATCHING_SWEEP_SECONDS = env.int("MATCHING_SWEEP_SECONDS", default=30)
# The sweep also starts a full run when none was started for this long.
MATCHING_PERIODIC_RUN_MINUTES = env.int("MATCHING_PERIODIC_RUN_MINUTES", default=10)
# How often each worker's relay gives committed events their positions and fans them out.
EVENTS_RELAY_SECONDS = env.float("EVENTS_RELAY_SECONDS", default=0.25)
# Webhooks (apps.webhooks): how often each worker's dispatcher sends the deliveries that are due
# (besides right after each relay), and how many it claims at a time.
WEBHOOKS_DISPATCH_SECONDS = env.float("WEBHOOKS_DISPATCH_SECONDS", default=1.0)
WEBHOOKS_DISPATCH_BATCH = env.int("WEBHOOKS_DISPATCH_BATCH", default=100)
# Claimed deliveries go to the workers this many to a message; a worker attempts the ones of
# a message side by side, WEBHOOKS_SEND_CONCURRENCY at once (so a slow receiver holds up little).
WEBHOOKS_TASK_BATCH = env.int("WEBHOOKS_TASK_BATCH", default=10)
WEBHOOKS_SEND_CONCURRENCY = env.int("WEBHOOKS_SEND_CONCURRENCY", default=8)
# At most this many deliveries claimed and not finished at once (a backlog waits in PostgreSQL).
WEBHOOKS_MAX_IN_FLIGHT = env.int("WEBHOOKS_MAX_IN_FLIGHT", default=500)
# Seconds to wait after each failed attempt (jittered by ±WEBHOOKS_RETRY_JITTER): 5 s, 5 min,
# 30 min, 2 h, 5 h, then every 10 h: 13 attempts over 3.2 days (so an endpoint that fails them
# all has failed for 3 days by the last one, and is disabled); then the delivery has failed.
WEBHOOKS_RETRY_SCHEDULE = [
    float(s)
    for s in env.list(
        "WEBHOOKS_RETRY_SCHEDULE", default=["5", "300", "1800", "7200", "18000", *["36000"] * 7]
    )
]
WEBHOOKS_RETRY_JITTER = env.float("WEBHOOKS_RETRY_JITTER", default=0.1)
# One attempt: connect/read/write timeout, and the most of the response body that is read.
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
WEBHOOKS_MAX_RESPONSE_BYTES = env.int("WEBHOOKS_MAX_RESPONSE_BYTES", default=64 * 1024)
# A claimed delivery whose worker died is claimed again after this (more than two timeouts).
WEBHOOKS_LEASE_SECONDS = env.float("WEBHOOKS_LEASE_SECONDS", default=30.0)
# An endpoint whose deliveries have failed for this long is disabled and its owners emailed.
WEBHOOKS_DISABLE_AFTER_HOURS = env.float("WEBHOOKS_DISABLE_AFTER_HOURS", default=72.0)
# Finished deliveries and their attempts are listed for this many days, then deleted.
WEBHOOKS_LOG_DAYS = env.int("WEBHOOKS_LOG_DAYS", default=30)
# After a rotation, the previous signing secret still signs deliveries for this long.
WEBHOOKS_PREVIOUS_SECRET_HOURS = env.float("WEBHOOKS_PREVIOUS_SECRET_HOURS", default=24.0)
# Development only: accept http:// endpoint URLs, and send to loopback/private addresses.
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# How long the event feed keeps events (partners replay missed ones from it): at least 30 days.
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)
if EVENTS_RETENTION_DAYS < 30:
    raise ImproperlyConfigured("EVENTS_RETENTION_DAYS must be at least 30.")
# Periodic work, declared here and run by one `celery beat`. Every task is safe to repeat.
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-records": {
        "task": "apps.core.tasks.purge_idempotency_records",
        "schedule": timedelta(hours=1),
    },
    "purge-expired-tokens": {
        "task": "apps.accounts.tasks.purge_expired_tokens",
        "schedule": timedelta(hours=1),
    },
    "release-overdue-proposals": {
        "task": "apps.matching.tasks.release_overdue_proposals",
        "schedule": timedelta(minutes=5),
    },
    "flag-unconfirmed-tranches": {
        "task": "apps.disbursements.tasks.flag_unconfirmed_tranches",
        "schedule": timedelta(hours=6),
    },
    "expire-overdue-needs": {
        "task": "apps.needs.tasks.expire_overdue_needs",
        "schedule": timedelta(hours=1),
    },
    "expire-due-pledges": {
        "task": "apps.pledges.tasks.expire_due_pledges",
        "schedule": timedelta(minutes=15),
    },
    "make-due-scheduled-pledges": {  # recurring pledges: each period's pledge, once
        "task": "apps.pledges.tasks.make_due_scheduled_pledges",
        "schedule": timedelta(minutes=10),
    },
    "sweep-matching": {
        "task": "apps.matching.tasks.sweep_matching",
        "schedule": timedelta(seconds=MATCHING_SWEEP_SECONDS),
    },
    "relay-events": {  # a backstop: every worker relays every EVENTS_RELAY_SECONDS
        "task": "apps.events.tasks.relay_events",
        "schedule": timedelta(minutes=1),
    },
    "dispatch-webhooks": {  # a backstop: every worker dispatches every WEBHOOKS_DISPATCH_SECONDS
        "task": "apps.webhooks.tasks.dispatch_webhooks",
        "schedule": timedelta(minutes=1),
    },
    "purge-webhook-log": {
        "task": "apps.webhooks.tasks.purge_webhook_log",
        "schedule": timedelta(hours=6),
    },
    "purge-old-events": {  # the feed keeps EVENTS_RETENTION_DAYS
        "task": "apps.events.tasks.purge_old_events",
        "schedule": timedelta(hours=1),
    },
    # Ledger: recompute every balance from the legs and compare with the cached totals.
    "reconcile-ledger": {
        "task": "apps.ledger.tasks.reconcile_ledger",
        "schedule": timedelta(hours=1),
    },
}

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "apps.core.cache.PooledRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="aidmatch"),
            # An unreachable Redis fails fast; rate limits then fall back to process memory
            # (apps/core/throttling.py) instead of answering 500.
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=1.0),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=1.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerTokenAuthentication",
        "apps.organizations.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "apps.core.filters.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttling.CallerRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "caller": env("THROTTLE_RATE_CALLER", default="600/min"),
        "anon": env("THROTTLE_RATE_ANON", default="120/min"),
        "auth": env("THROTTLE_RATE_AUTH", default="20/min"),
    },
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.DepthLimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(days=env.int("TOKEN_TTL_DAYS", default=7)),
    "TOKEN_PREFIX": "am_",
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AidMatch API",
    "DESCRIPTION": (
        "Matches donors' pledges to the needs of Afghan-led organizations and tracks every "
        "disbursement from pledge to delivery report. Errors are application/problem+json "
        "(RFC 9457). POSTs that create or move money honour the Idempotency-Key header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OrganizationStatusEnum": "apps.organizations.models.OrganizationStatus",
        "NeedStatusEnum": [s.value for s in NeedStatus],
        "AllocationStatusEnum": [s.value for s in AllocationStatus],
        "DisbursementStatusEnum": [s.value for s in DisbursementStatus],
        "OrganizationKindEnum": "apps.organizations.models.OrganizationKind",
        "DocumentKindEnum": "apps.organizations.models.DocumentKind",
        # The event feed's and the webhook endpoints' event types are one enum; a resource's
        # type in an event is another (both fields are named "type").
        "EventTypeEnum": [t.value for t in EventType],
        "EventResourceTypeEnum": sorted({resource_of(t.value) for t in EventType}),
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.schema.add_problem_responses",  # errors as application/problem+json
        "apps.core.schema.add_location_headers",  # Location of what a 201 created
    ],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "BearerAuth": {"type": "http", "scheme": "bearer"},
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "Authorization"},
        }
    },
}

# --- Client addresses and sign-in limits ---------------------------------------------------------
# How many reverse proxies (nginx, a load balancer) stand in front of the service and append to
# X-Forwarded-For. 0: the client's address is REMOTE_ADDR and X-Forwarded-For is ignored (anyone
# can write it). n: the n-th address from the right of X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Sign-in attempts per email (whatever the address) within the window, counted from the first;
# then 429 until the window ends. A successful sign-in clears the count.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_WINDOW_MINUTES = env.float("LOGIN_FAILURE_WINDOW_MINUTES", default=15.0)

# --- Domain settings ----------------------------------------------------------------------------
IDEMPOTENCY_TTL = timedelta(hours=env.int("IDEMPOTENCY_TTL_HOURS", default=48))
TRANSACTION_ATTEMPTS = env.int("TRANSACTION_ATTEMPTS", default=3)  # apps.core.transactions
# Fernet keys (comma-separated, newest first) for confidential fields; rotate by prepending.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS",
    # The embedded default's key: fine for a laptop demo, refused by production settings.
    default=["n9tG0h7s3KkVdJ8m3hYqk3o0w8b5kq1rYV3x8JQ0c2U="],
)
# Workers write a heartbeat (WorkerHeartbeat) every HEALTH_HEARTBEAT_SECONDS; /healthz counts a
# worker up while its heartbeat is younger than HEALTH_WORKER_STALE_SECONDS, and wants one for each
# of HEALTH_REQUIRED_QUEUES (default: every queue, so that /healthz names a queue with no worker).
# The broker check gives up after HEALTH_BROKER_TIMEOUT seconds.
HEALTH_HEARTBEAT_SECONDS = env.float("HEALTH_HEARTBEAT_SECONDS", default=10.0)
HEALTH_WORKER_STALE_SECONDS = env.float("HEALTH_WORKER_STALE_SECONDS", default=30.0)
HEALTH_REQUIRED_QUEUES = env.list("HEALTH_REQUIRED_QUEUES", default=list(CELERY_QUEUE_NAMES))
HEALTH_BROKER_TIMEOUT = env.float("HEALTH_BROKER_TIMEOUT", default=0.5)
# Sanctions screening: a name scoring at least this (0-100) against a list entry is a hit. At 88
# every listed-name variant in the tests hits and 0.8% of 240 unlisted Afghan names do
# (bench/screening.py); raise it for fewer hits to review, lower it for more recall.
SCREENING_HIT_THRESHOLD = env.float("SCREENING_HIT_THRESHOLD", default=88.0)
# An invitation to join an organization can be accepted for this many days.
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
# Where people reach this service, for the links in emails (the invitation's portal page):
# scheme and host, no trailing slash. The default suits a local run only: set it in production.
SITE_URL = env("SITE_URL", default="http://localhost:8000").rstrip("/")
# A tranche sent but not confirmed after this many days is flagged.
DISBURSEMENT_CONFIRM_DAYS = env.int("DISBURSEMENT_CONFIRM_DAYS", default=14)
# Notifications by email (e.g. a tranche left unconfirmed): SMTP from EMAIL_URL
# (smtp+tls://user:password@host:587); without it they are printed to the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="AidMatch <noreply@aidmatch.example>")
# Public figures: a cell built from fewer organizations or people than this is not shown.
PUBLIC_MIN_ORGANIZATIONS = env.int("PUBLIC_MIN_ORGANIZATIONS", default=3)
PUBLIC_MIN_BENEFICIARIES = env.int("PUBLIC_MIN_BENEFICIARIES", default=10)
# The public funding page (/funding/) is rendered once per language and kept this long, in the
# cache and by shared caches (Cache-Control: public, max-age).
FUNDING_PAGE_CACHE_SECONDS = env.int("FUNDING_PAGE_CACHE_SECONDS", default=60)
# IATI 2.03 publishing (apps/opendata/iati): AidMatch reports an organization's activities itself
# when the organization has no org-id it may publish (sensitive, or none set).
IATI_PUBLISHER_REF = env("IATI_PUBLISHER_REF", default="XI-IATI-AIDMATCH")
IATI_PUBLISHER_NAME = env("IATI_PUBLISHER_NAME", default="AidMatch")
IATI_PUBLISHER_TYPE = env("IATI_PUBLISHER_TYPE", default="90")  # OrganisationType: Other
IATI_EXPORT_CHUNK = env.int("IATI_EXPORT_CHUNK", default=500)  # needs read per batch

# One line per event, all through the root handler: Django's own "django" handler (which printed
# the reloader's line and every 4xx a second time) is dropped. Every request writes one access
# line ("aidmatch.request", apps.core.logs: route, status, duration, caller ids), under any
# server, so runserver's own access line (django.server) and django.request's line for a 4xx
# are left out; a 5xx is logged by django.request too, with its traceback. Every line carries
# the request id (and, in a worker, the task's name and id).
# LOG_FORMAT: "json" (one JSON object a line, for a log collector; the default) or "plain"
# (the default of config.settings.local: a developer's terminal and the embedded demo).
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="json")


def logging_settings(log_format: str, level: str) -> dict:
    if log_format not in ("json", "plain"):
        raise ImproperlyConfigured("LOG_FORMAT must be json or plain.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {
                "()": "apps.core.logs.PlainFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            },
            "json": {
                "()": "apps.core.logs.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
                # Django's request object (django.request, django.server) would be written as
                # its repr, query string included: left out (the access line says what counts).
                "reserved_attrs": [*JSON_LOG_RESERVED_ATTRS, "request", "server_time"],
            },
        },
        "filters": {
            "context": {"()": "apps.core.logs.ContextFilter"},
            "server_errors_only": {
                "()": "django.utils.log.CallbackFilter",
                "callback": lambda r: getattr(r, "status_code", 500) >= 500,
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.request": {
                "handlers": [],
                "level": level,
                "propagate": True,
                "filters": ["server_errors_only"],
            },
            "django.server": {"handlers": [], "level": "CRITICAL", "propagate": True},
            "django.db.backends": {"level": "WARNING"},
        },
    }


LOGGING = logging_settings(LOG_FORMAT, LOG_LEVEL)
