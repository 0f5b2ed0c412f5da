"""A per-account limit on sign-in attempts, whatever the address they come from.

At most LOGIN_FAILURE_LIMIT failed attempts per email within LOGIN_FAILURE_WINDOW_MINUTES
(counted from the first); the next attempts are refused, the right password included, until the
window ends. An attempt is counted before the password is checked, so concurrent guesses cannot
slip past the limit; a successful sign-in clears the count. Unknown emails are counted the same
way, so the answers never tell whether an account exists.

The counter's cache key is a keyed hash (HMAC with the secret key) of the normalized email: no
email, raw or plainly hashed, is ever a cache key.
"""

import time

from django.conf import settings
from django.utils.crypto import salted_hmac

from apps.core.throttling import rate_limit_cache


class LoginLocked(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _key(email: str) -> str:
    digest = salted_hmac(
        "apps.accounts.login_limits", normalize_email(email), algorithm="sha256"
    ).hexdigest()
    return f"login-attempts:{digest[:40]}"


def _window() -> int:
    return int(settings.LOGIN_FAILURE_WINDOW_MINUTES * 60)


def attempt(email: str) -> None:
    """Count one sign-in attempt for this email; LoginLocked once the limit is spent."""
    key, window = _key(email), _window()
    rate_limit_cache.add(f"{key}:until", time.time() + window, window)
    if rate_limit_cache.add(key, 1, window):
        count = 1
    else:
        try:
            count = rate_limit_cache.incr(key)
        except ValueError:  # expired since the add
            rate_limit_cache.set(key, 1, window)
            count = 1
    if count > settings.LOGIN_FAILURE_LIMIT:
        until = rate_limit_cache.get(f"{key}:until") or time.time() + window
        raise LoginLocked(wait=max(1.0, until - time.time()))


def succeeded(email: str) -> None:
    """The password was right: earlier failures no longer count."""
    key = _key(email)
    rate_limit_cache.delete(key)
    rate_limit_cache.delete(f"{key}:until")
