"""What the service says: one JSON object per log line, each carrying the request id.

``RequestIdMiddleware`` puts the request's id in a context variable for the length of the
request and writes one access line when the response is ready (``access_line``): method,
route (the URL pattern, never the path with its ids), status, duration and the caller as ids
only (user id, API key prefix, organization id). ``ContextFilter`` (on the console handler)
adds the request id, and in a worker the task's name and id, to every record.

A task enqueued during a request carries the request's id in a message header
(``before_task_publish``); the worker sets it for the task's length (``task_prerun`` /
``task_postrun``), so the task's lines carry the id of the request that caused them.
"""

import logging
import re
import time
from contextvars import ContextVar
from functools import lru_cache

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

HEADER = "x_request_id"  # the Celery message header

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
task_var: ContextVar[tuple[str, str] | None] = ContextVar("task", default=None)

access_log = logging.getLogger("aidmatch.request")


class ContextFilter(logging.Filter):
    """Adds ``request_id`` (and ``task_name``/``task_id`` in a task) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # django.request logs a 4xx/5xx after the middleware has returned: its record
            # carries the request itself.
            record.request_id = request_id_var.get() or getattr(
                getattr(record, "request", None), "request_id", ""
            )
        task = task_var.get()
        if task is not None and not getattr(record, "task_id", None):
            record.task_name, record.task_id = task
        return True


# PostgreSQL's DETAIL of an error holds the row's values ("Key (email)=(…) already exists",
# "Failing row contains (…)"): an exception's text in a log line never carries it. A value may
# hold line breaks, so the DETAIL runs to a HINT or CONTEXT line of the error, to the next
# exception of a chained traceback, or to the end of the text.
_DETAIL = re.compile(
    r"^([ \t]*)DETAIL:.*?(?=\n[ \t]*(?:HINT|CONTEXT):"
    r"|\n\nThe above exception|\n\nDuring handling|\nTraceback \(most recent|\Z)",
    re.MULTILINE | re.DOTALL,
)


def redact(text: str) -> str:
    return (
        _DETAIL.sub(r"\1DETAIL:  [values left out of the log]", text) if "DETAIL:" in text else text
    )


class JsonFormatter(_JsonFormatter):
    """One JSON object a line (python-json-logger), database values left out (``redact``)."""

    def process_log_record(self, log_data: dict) -> dict:
        for key in ("message", "exc_info", "stack_info"):
            if isinstance(log_data.get(key), str):
                log_data[key] = redact(log_data[key])
        return super().process_log_record(log_data)


class PlainFormatter(logging.Formatter):
    """The developer's format: the JSON lines' fields, readable, request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))
        rid = getattr(record, "request_id", "")
        return f"{text} [request_id={rid}]" if rid else text


# --- Routes --------------------------------------------------------------------------------------
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")


def _close_of(pattern: str, start: int) -> int:
    """The index just after the group opened at ``start`` (escapes and classes skipped)."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(pattern)


@lru_cache(maxsize=1024)  # one entry per URL pattern: the set is bounded
def route_pattern(route: str) -> str:
    """``api/v1/^pledges/(?P<pk>[0-9]{1,18})/?$`` -> ``api/v1/pledges/<pk>``: the pattern that
    matched, as a label (bounded: one per route, never an id or a query)."""
    out, i = [], 0
    while True:
        found = _NAMED_GROUP.search(route, i)
        if found is None:
            out.append(route[i:])
            break
        out.append(route[i : found.start()])
        out.append(f"<{found.group(1)}>")
        i = _close_of(route, found.start())
    text = "".join(out)
    text = text.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    return text.rstrip("/") or "/"


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or not getattr(match, "route", None):
        return "<unmatched>"
    return route_pattern(match.route)


# --- The access line -----------------------------------------------------------------------------
def caller_ids(request) -> dict:
    """Who called, as ids only: never an email, a name or a token's text."""
    ids: dict = {}
    auth = getattr(request, "auth", None)
    if getattr(auth, "is_api_key", False):
        ids["api_key"] = auth.prefix
        ids["organization_id"] = str(auth.organization_id)
        return ids
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        ids["user_id"] = str(user.pk)
    return ids


def access_line(request, response, started: float) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    status = response.status_code
    level = logging.ERROR if status >= 500 else logging.INFO
    extra = {
        "method": request.method,
        "route": route_of(request),
        "status": status,
        "duration_ms": duration_ms,
        **caller_ids(request),
    }
    access_log.log(
        level, "%s %s %s %sms", request.method, extra["route"], status, duration_ms, extra=extra
    )


# --- Celery --------------------------------------------------------------------------------------
_task_tokens: dict = {}


def _add_request_id_header(headers=None, **kwargs) -> None:
    rid = request_id_var.get()
    if rid and isinstance(headers, dict):
        headers.setdefault(HEADER, rid)


def _header_of(task) -> str:
    request = getattr(task, "request", None)
    value = getattr(request, HEADER, None)
    if not value:
        value = (getattr(request, "headers", None) or {}).get(HEADER)
    return value if isinstance(value, str) else ""


def _task_started(task_id=None, task=None, **kwargs) -> None:
    rid = _header_of(task) or request_id_var.get()  # eagerly, inside the request: its id
    _task_tokens[task_id] = (
        request_id_var.set(rid),
        task_var.set((getattr(task, "name", "") or "", task_id or "")),
    )


def _task_finished(task_id=None, **kwargs) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens is None:
        return
    try:
        request_id_var.reset(tokens[0])
        task_var.reset(tokens[1])
    except ValueError:  # set in another context (a thread pool): just clear it
        request_id_var.set("")
        task_var.set(None)


def _configure_worker_logging(**kwargs) -> None:
    """Workers log through Django's LOGGING (the same format as the web processes), not
    Celery's own handler."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

    before_task_publish.connect(_add_request_id_header, weak=False, dispatch_uid="log_rid_header")
    task_prerun.connect(_task_started, weak=False, dispatch_uid="log_task_started")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="log_task_finished")
    setup_logging.connect(_configure_worker_logging, weak=False, dispatch_uid="log_setup")
