"""Who is calling: a signed-in user, or a partner API key acting for its organization."""


def is_api_key(request) -> bool:
    return bool(getattr(request.auth, "is_api_key", False))


def caller_key(request) -> str | None:
    """'key:<id>' for an API key, 'user:<id>' for a user, None for an anonymous caller."""
    if is_api_key(request):
        return f"key:{request.auth.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None
