"""Rate limits: per caller, per client address, and the counters they keep.

Counters live in the shared cache (Redis), so every web process sees the same budget. When the
shared cache fails, they fall back to this process's own memory: the service keeps answering
(no 500 because Redis is down), each process still enforces every limit on its own, and a
warning is logged when the outage begins and at most once a minute while it lasts. While the
shared cache is down it is tried again every few seconds, not on every request.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from apps.core.actors import caller_key, client_address

log = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60.0
RETRY_SHARED_EVERY_SECONDS = 5.0


@dataclass
class _Outage:
    cache: object  # the shared cache object that failed (a new one after a settings change)
    retry_at: float
    warned_at: float


class FailoverCache:
    """The shared cache, or this process's memory while the shared cache raises.

    Only the operations the rate limits use. Cache keys hold no secret-derived material: callers
    are named by user id, API-key prefix or address, emails by a keyed hash.
    """

    def __init__(self) -> None:
        self.local = LocMemCache("aidmatch-rate-limits", {"OPTIONS": {"MAX_ENTRIES": 10000}})
        self._lock = threading.Lock()
        self._outage: _Outage | None = None

    def _call(self, name: str, *args, **kwargs):
        shared, now = caches["default"], time.monotonic()
        outage = self._outage
        if outage is not None and outage.cache is shared and now < outage.retry_at:
            return getattr(self.local, name)(*args, **kwargs)
        try:
            result = getattr(shared, name)(*args, **kwargs)
        except (ValueError, TypeError):
            raise  # an answer (e.g. incr of a missing key), not an outage
        except Exception as exc:  # the shared cache is down or unreachable: fail over, not 500
            self._failed(shared, exc, now)
            return getattr(self.local, name)(*args, **kwargs)
        if outage is not None and outage.cache is shared:
            self._outage = None
            log.warning("the shared cache is back: rate limits are shared again")
        return result

    def _failed(self, shared, exc: Exception, now: float) -> None:
        with self._lock:
            outage = self._outage
            if outage is None or outage.cache is not shared:
                outage = self._outage = _Outage(shared, 0.0, float("-inf"))
            outage.retry_at = now + RETRY_SHARED_EVERY_SECONDS
            if now - outage.warned_at < WARN_EVERY_SECONDS:
                return
            outage.warned_at = now
        log.warning(
            "the shared cache is unavailable (%s: %s): rate limits are kept in this process's "
            "memory until it is back",
            type(exc).__name__,
            exc,
        )

    def get(self, key, default=None):
        return self._call("get", key, default)

    def set(self, key, value, timeout):
        return self._call("set", key, value, timeout)

    def add(self, key, value, timeout):
        return self._call("add", key, value, timeout)

    def incr(self, key, delta=1):
        return self._call("incr", key, delta)

    def delete(self, key):
        return self._call("delete", key)


rate_limit_cache = FailoverCache()


class _Throttle(SimpleRateThrottle):
    cache = rate_limit_cache

    def get_ident(self, request):
        return client_address(request)


class CallerRateThrottle(_Throttle):
    """One budget per caller: per API key, per signed-in user; anonymous callers per address."""

    scope = "caller"

    def allow_request(self, request, view):
        if caller_key(request) is None:
            self.scope = "anon"
            self.rate = self.get_rate()
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        owner = caller_key(request) or f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": owner}


class AuthRateThrottle(_Throttle):
    """A tighter budget for credential endpoints (register, token), per client address."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
