import pytest

from tests.apps.webhooks.receiver import Receiver
from tests.integration.conftest import broker_tasks  # noqa: F401 (a fixture)


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def loopback_allowed(settings):
    """Send to the loopback receiver over plain http (both off by default)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.2, 0.2, 0.2]
    settings.WEBHOOKS_RETRY_JITTER = 0.0


# --- a real worker ----------------------------------------------------------------------------

# The worker sends to the loopback receiver over http, retries fast and claims again soon.
WORKER_ENV = {
    "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true",
    "WEBHOOKS_ALLOW_HTTP": "true",
    "WEBHOOKS_RETRY_SCHEDULE": "0.3,0.3,0.3,0.3",
    "WEBHOOKS_RETRY_JITTER": "0.2",
    "WEBHOOKS_DISPATCH_SECONDS": "0.2",
    "WEBHOOKS_TIMEOUT_SECONDS": "1",
    "WEBHOOKS_LEASE_SECONDS": "3",
}


@pytest.fixture
def start_worker(django_db_serialized_rollback, transactional_db, broker_tasks, tmp_path):  # noqa: F811
    """Start (and at the end stop) worker processes with the webhook test settings."""
    from tests.integration.conftest import WorkerProcess, _test_database_url

    started = []

    def start(**env):
        process = WorkerProcess(
            _test_database_url(), tmp_path / f"worker{len(started)}.log", **{**WORKER_ENV, **env}
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def in_process(settings):
    """This process validates and records like the worker's settings say."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOKS_ALLOW_HTTP = True
