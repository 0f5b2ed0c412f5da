"""Rate limits: per caller, per client address, and the counters they keep.

Counters live in the shared cache (Redis), so every web process sees the same budget. When the
shared cache fails, they fall back to this process's own memory: the service keeps answering
(no 500 because Redis is down), each process still enforces every limit on its own, and a
warning is logged when the outage begins and at most once a minute while it lasts. While the
shared cache is down it is tried again every few seconds, not on every request.

A request's check and its count are one step: in Redis a Lua script trims the window, counts and
records the request atomically (a sliding log in a sorted set, timed by Redis's own clock), so a
burst of concurrent requests across many processes and machines gets exactly the budget, never a
few more (DRF's own throttle reads the history, decides, then writes it back: concurrent requests
each read the same history). In process memory the same step runs under a lock.
"""

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from apps.core.actors import caller_key, client_address

log = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60.0
RETRY_SHARED_EVERY_SECONDS = 5.0

# KEYS[1]: the log (a sorted set of request ids scored by time in ms); ARGV: window in ms, the
# budget, this request's id. Returns {1, 0} when the request is admitted (and recorded), or
# {0, ms until the oldest logged request leaves the window}.
_HIT_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < budget then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(tonumber(oldest[2]) + window - now, 1)}
"""


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
            return self._on(self.local, name)(*args, **kwargs)
        try:
            result = self._on(shared, name)(*args, **kwargs)
        except (ValueError, TypeError):
            raise  # an answer (e.g. incr of a missing key), not an outage
        except Exception as exc:  # the shared cache is down or unreachable: fail over, not 500
            self._failed(shared, exc, now)
            return self._on(self.local, name)(*args, **kwargs)
        if outage is not None and outage.cache is shared:
            self._outage = None
            log.warning("the shared cache is back: rate limits are shared again")
        return result

    def _on(self, cache, name: str):
        if name != "_hit":
            return getattr(cache, name)
        if isinstance(cache, RedisCache):
            return lambda *args: _redis_hit(cache, *args)
        return lambda *args: self._memory_hit(cache, *args)

    def _memory_hit(self, cache, key: str, budget: int, window: float) -> tuple[bool, float]:
        with self._lock:
            now = time.time()
            log_ = [t for t in cache.get(key, []) if t > now - window]
            if len(log_) < budget:
                cache.set(key, [*log_, now], window)
                return True, 0.0
            cache.set(key, log_, window)
            return False, max(log_[0] + window - now, 0.001)

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

    def hit(self, key: str, budget: int, window: float) -> tuple[bool, float]:
        """Count one request against ``budget`` per ``window`` seconds under ``key``, in one
        atomic step: (admitted, seconds until one more would be admitted when it is not)."""
        return self._call("_hit", key, budget, window)

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


def _redis_hit(cache: RedisCache, key: str, budget: int, window: float) -> tuple[bool, float]:
    client = cache._cache.get_client(write=True)
    admitted, wait_ms = client.eval(
        _HIT_SCRIPT,
        1,
        cache.make_and_validate_key(key),
        max(int(window * 1000), 1),
        budget,
        uuid.uuid4().hex,
    )
    return bool(admitted), wait_ms / 1000


rate_limit_cache = FailoverCache()


class _Throttle(SimpleRateThrottle):
    """DRF's throttle (rates, scopes, cache keys), with the check and the count as one atomic
    step (``FailoverCache.hit``)."""

    cache = rate_limit_cache

    def get_ident(self, request):
        return client_address(request)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        admitted, self._wait = self.cache.hit(self.key, self.num_requests, self.duration)
        return admitted

    def wait(self):
        return self._wait


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
