import pytest

from tests.apps.webhooks.receiver import Receiver


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
