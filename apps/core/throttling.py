"""Rate limits: per caller, per client address, and the counters they keep.

Counters live in the shared cache (Redis), so every web process sees the same budget. When the
shared cache fails, they fall back to this process's own memory (a warning is logged, at most
once a minute per process): the service keeps answering, and each process still enforces its
limits on its own until Redis is back.
"""

import logging
import threading
import time

from django.core.cache import cache as shared_cache
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from apps.core.actors import caller_key, client_address

log = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60.0


class FailoverCache:
    """The shared cache, or this process's memory while the shared cache raises.

    Only the operations the rate limits use. Cache keys hold no secret-derived material: callers
    are named by user id, API-key prefix or address, emails by a keyed hash.
    """

    def __init__(self) -> None:
        self.local = LocMemCache("aidmatch-rate-limits", {"OPTIONS": {"MAX_ENTRIES": 10000}})
        self._lock = threading.Lock()
        self._last_warning = float("-inf")

    def _call(self, name: str, *args, **kwargs):
        try:
            return getattr(shared_cache, name)(*args, **kwargs)
        except (ValueError, TypeError):
            raise  # an answer (e.g. incr of a missing key), not an outage
        except Exception as exc:  # the shared cache is down or unreachable: fail over, not 500
            self._warn(exc)
            return getattr(self.local, name)(*args, **kwargs)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_warning < WARN_EVERY_SECONDS:
                return
            self._last_warning = now
        log.warning(
            "the shared cache is unavailable (%s: %s): rate limits are kept in this process's "
            "memory until it is back (warned at most every %d s)",
            type(exc).__name__,
            exc,
            WARN_EVERY_SECONDS,
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
