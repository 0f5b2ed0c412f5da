from rest_framework.throttling import SimpleRateThrottle

from apps.core.actors import caller_key


class CallerRateThrottle(SimpleRateThrottle):
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


class AuthRateThrottle(SimpleRateThrottle):
    """A tighter budget for credential endpoints (register, token), per client address."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
