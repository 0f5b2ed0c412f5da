"""Who is acting, and in which request, without passing the request into services.

``AuditMiddleware`` puts the Django request in a context variable for the length of the
request. DRF authenticates lazily inside the view, but it copies what it finds onto the Django
request (``request.user``, ``request.auth``), so the actor is read from there when an event is
written, by which time the view has authenticated the caller. Celery tasks act as ``system``
(``task_prerun``/``task_postrun``), also when they run eagerly inside a request; so do
management commands and anything else outside a request.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

SYSTEM = "system"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Actor:
    actor: str
    label: str = ""
    via: str = ""


SYSTEM_ACTOR = Actor(SYSTEM, "system")

_request: ContextVar = ContextVar("audit_request", default=None)
_override: ContextVar[Actor | None] = ContextVar("audit_actor_override", default=None)


def token_ref(token) -> str:
    """A bearer token named by a prefix of its SHA-512 digest (never by its text)."""
    return f"token:{token.digest[:16]}"


def actor_of(who) -> Actor:
    """An Actor for a user, an API key (or its KeyActor), a ready string, or None (system)."""
    if who is None:
        return SYSTEM_ACTOR
    if isinstance(who, Actor):
        return who
    if isinstance(who, str):
        return Actor(who, who)
    key = who if getattr(who, "is_api_key", False) else getattr(who, "key", None)
    if getattr(key, "is_api_key", False):  # an ApiKey, or the KeyActor standing for one
        return Actor(
            f"key:{key.prefix}", f"API key {key.prefix} of organization {key.organization_id}"
        )
    if getattr(who, "is_authenticated", False) and getattr(who, "pk", None) is not None:
        return Actor(f"user:{who.pk}", getattr(who, "email", "") or str(who.pk))
    return Actor(ANONYMOUS, ANONYMOUS)


def _via(request) -> str:
    auth = getattr(request, "auth", None)
    if getattr(auth, "is_api_key", False):
        return f"key:{auth.prefix}"
    if auth is not None and hasattr(auth, "digest"):
        return token_ref(auth)
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return "session"
    return ""


def current_actor() -> Actor:
    override = _override.get()
    if override is not None:
        return override
    request = _request.get()
    if request is None:
        return SYSTEM_ACTOR
    auth = getattr(request, "auth", None)
    who = auth if getattr(auth, "is_api_key", False) else getattr(request, "user", None)
    found = actor_of(who) if who is not None else Actor(ANONYMOUS, ANONYMOUS)
    return Actor(found.actor, found.label, _via(request))


def current_request_id() -> str:
    if _override.get() is not None:
        return ""
    request = _request.get()
    return getattr(request, "request_id", "") if request is not None else ""


def current_request():
    return _request.get()


def enter_request(request):
    return _request.set(request)


def leave_request(token) -> None:
    _request.reset(token)


@contextmanager
def acting_as(actor: Actor):
    """Record events inside the block as ``actor`` (e.g. SYSTEM_ACTOR in a task)."""
    token = _override.set(actor)
    try:
        yield actor
    finally:
        _override.reset(token)


_task_tokens: dict = {}


def _task_started(task_id=None, task=None, **kwargs) -> None:
    name = getattr(task, "name", "") or ""
    _task_tokens[task_id] = _override.set(Actor(SYSTEM, "system", f"task:{name}"[:120]))


def _task_finished(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _override.reset(token)
        except ValueError:  # set in another context (a worker thread pool): just clear it
            _override.set(None)


def connect_celery_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, weak=False, dispatch_uid="audit_task_started")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="audit_task_finished")
