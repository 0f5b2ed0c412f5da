"""Permission classes shared by the apps' APIs."""

from django.utils.translation import gettext_lazy
from rest_framework.permissions import BasePermission

from apps.core.actors import is_api_key


class ScopedForApiKeys(BasePermission):
    """Signed-in users pass (their roles are checked further in); an API key needs the scope
    the view declares for the action in ``required_scopes`` (``{"list": "needs:read", ...}``).
    An action with no scope declared is closed to API keys."""

    message = gettext_lazy("This API key lacks the scope for this action.")

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if not is_api_key(request):
            return True
        scopes = getattr(view, "required_scopes", {})
        action = getattr(view, "action", None) or request.method.lower()
        needed = scopes.get(action)
        return needed is not None and request.auth.has_scope(needed)


class UsersOnly(BasePermission):
    """Signed-in people only: API keys may not manage memberships or keys."""

    message = gettext_lazy("API keys cannot use this endpoint.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and not is_api_key(request))
