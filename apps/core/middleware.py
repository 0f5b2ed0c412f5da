import re
import time
import uuid
from urllib.parse import quote

from django.urls import Resolver404, get_script_prefix, resolve

from apps.core import logs

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Gives every request an id (the caller's X-Request-ID when it is safe) and echoes it; the
    id is in the logging context for the request's length (every line carries it, and so do the
    tasks the request enqueues), and the request's access line is written as it ends
    (apps.core.logs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        token = logs.request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            logs.access_line(request, response, started)
            return response
        finally:
            logs.request_id_var.reset(token)


class CreatedLocationMiddleware:
    """Every 201 to a POST names what it created: ``Location`` is the detail URL of the object
    in the body (its ``id`` appended to the collection's path), set only when that URL is a
    route of the API whose id is that object's. Replays of idempotent requests get it too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 201
            and request.method == "POST"
            and not response.has_header("Location")
        ):
            location = created_location(request.path_info, getattr(response, "data", None))
            if location:
                response["Location"] = request.build_absolute_uri(
                    get_script_prefix().rstrip("/") + location
                )
        return response


def created_location(collection: str, body) -> str | None:
    """The detail path of the object ``body`` describes, created by a POST to ``collection``."""
    if not isinstance(body, dict) or body.get("id") in (None, ""):
        return None
    object_id = str(body["id"])
    path = f"{collection.rstrip('/')}/{quote(object_id, safe='')}"
    path += "/" if collection.endswith("/") else ""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return path if object_id in {str(v) for v in match.kwargs.values()} else None
