"""Who is calling: a signed-in user, or a partner API key acting for its organization, and from
which address."""

import ipaddress

from django.conf import settings


def is_api_key(request) -> bool:
    return bool(getattr(request.auth, "is_api_key", False))


def caller_key(request) -> str | None:
    """'key:<prefix>' for an API key, 'user:<id>' for a user, None for an anonymous caller.

    Short (it is an idempotency record's owner and part of throttle cache keys) and free of
    secret-derived material: an API key's prefix is its public id (shown by the API, sent in the
    clear before the secret part), never its hash.
    """
    if is_api_key(request):
        return f"key:{request.auth.prefix}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def client_address(request) -> str:
    """The caller's network address: REMOTE_ADDR, unless the operator declares proxies in front.

    With TRUSTED_PROXY_COUNT = n > 0, the address is the n-th entry from the right of
    X-Forwarded-For (each trusted proxy appends the address it saw; anything further left was
    written by the caller and is ignored). A missing or malformed header falls back to
    REMOTE_ADDR, so a caller can never choose its own address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if not forwarded:
        return remote
    # Fewer entries than proxies: every entry was written by a trusted proxy; take the first.
    candidate = forwarded[-min(hops, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
