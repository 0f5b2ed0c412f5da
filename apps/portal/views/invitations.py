"""Joining an organization from a phone: the invitation's page, and creating an account for it.

The emailed link (``/portal/invitation?token=…``) is opened once: the token's digest goes into
the session (the token itself is stored nowhere) and the browser is sent on to
``/portal/invitation`` without it, so the token is in no later address, form, page or Referer
(the service's own log lines carry the route only; deploy/gunicorn.conf.py logs no query).
The page shows only what the email already told its reader: the organization and the role
(never the invited address). The invitee signs in (non-members may, for this page only) or
creates an account (the API's registration rules), then accepts or declines with the API's
services, ``invitation_accept`` / ``invitation_decline``, which decide everything (the address,
the state, the expiry) exactly as ``POST /api/v1/invitations/accept`` does."""

import math

from django.conf import settings
from django.contrib import auth, messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views import View
from django.views.decorators.http import require_POST

from aidmatch.errors import DomainError
from aidmatch.lifecycle import InvitationStatus
from apps.accounts import services as accounts
from apps.accounts.api.serializers import RegisterSerializer
from apps.core.i18n import domain_message
from apps.core.throttling import AuthRateThrottle
from apps.organizations.invitations import invitation_accept, invitation_decline, token_digest
from apps.organizations.models import Invitation
from apps.portal.forms import RegisterForm
from apps.portal.views.auth import _next_url, _set_language_cookie, _wait_text
from apps.portal.views.base import (
    SESSION_INVITATION,
    SESSION_ORGANIZATION,
    activate_user_language,
    add_domain_errors,
    add_serializer_errors,
)

TOKEN_MAX_LENGTH = 200


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


class InvitationView(View):
    """The invitation: who invites, with which role; sign in or create an account; answer."""

    template = "portal/invitation.html"

    def _invitation(self):
        digest = self.request.session.get(SESSION_INVITATION, "")
        found = Invitation.objects.filter(digest=digest) if digest else Invitation.objects.none()
        return found.select_related("organization").first()

    def _page(self, invitation, *, error: str = "", status: int = 0):
        request = self.request
        if invitation is None:
            return _no_store(render(request, "portal/invitation_gone.html", {}, status=404))
        if invitation.shown_status() != InvitationStatus.PENDING:  # answered, revoked, expired
            context = {"used": True, "message": error}
            gone = render(request, "portal/invitation_gone.html", context, status=status or 410)
            return _no_store(gone)
        context = {
            "invitation": invitation,
            "organization_name": invitation.organization.public_name(),
            "error": error,
            "next": reverse("portal:invitation"),
            "joining": True,  # maybe no member yet: no links to the members' pages
        }
        return _no_store(render(request, self.template, context, status=status or 200))

    def get(self, request):
        request.auth = None
        activate_user_language(request)
        token = request.GET.get("token", "")
        if token:  # the emailed link: keep the token, then drop it from the address
            # Its digest, as the invitation stores it: the session store never holds the token.
            request.session[SESSION_INVITATION] = token_digest(token[:TOKEN_MAX_LENGTH])
            response = redirect("portal:invitation")
            language = request.GET.get("lang", "")
            if language in dict(settings.LANGUAGES) and not request.user.is_authenticated:
                _set_language_cookie(response, language)
            response["Referrer-Policy"] = "no-referrer"
            return _no_store(response)
        return self._page(self._invitation())

    def post(self, request):
        request.auth = None
        if not request.user.is_authenticated:
            return redirect(f"{reverse('portal:login')}?next={reverse('portal:invitation')}")
        activate_user_language(request)
        invitation = self._invitation()
        if invitation is None:
            return self._page(None)
        answer = request.POST.get("answer", "")
        try:
            if answer == "accept":
                membership = invitation_accept(user=request.user, invitation=invitation)
            elif answer == "decline":
                invitation_decline(user=request.user, invitation=invitation)
            else:
                return self._page(
                    invitation, error=gettext("Choose accept or decline."), status=400
                )
        except DomainError as exc:
            return self._page(invitation, error=domain_message(exc), status=exc.status)
        del request.session[SESSION_INVITATION]
        name = invitation.organization.public_name()
        if answer == "decline":
            response = render(request, "portal/invitation_declined.html", {"name": name})
            return _no_store(response)
        request.session[SESSION_ORGANIZATION] = str(membership.organization_id)
        messages.success(request, gettext("You joined %(name)s.") % {"name": name})
        return redirect("portal:dashboard")


@require_POST
def switch_account(request):
    """Sign out to sign in with the invited address: the invitation stays in the session."""
    token = request.session.get(SESSION_INVITATION)
    auth.logout(request)
    if token:
        request.session[SESSION_INVITATION] = token
    return redirect(f"{reverse('portal:login')}?next={reverse('portal:invitation')}")


class RegisterView(View):
    """Create an account: ``POST /api/v1/auth/register``'s serializer, throttle and service
    (its password validators), then signed in and back to the invitation."""

    template = "portal/register.html"

    def _page(self, form, status=200):
        next_url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        return render(self.request, self.template, {"form": form, "next": next_url}, status=status)

    def get(self, request):
        request.auth = None
        if request.user.is_authenticated:
            return redirect(_next_url(request, reverse("portal:invitation")))
        return self._page(RegisterForm())

    def post(self, request):
        request.auth = None
        form = RegisterForm(request.POST)
        if not form.is_valid():
            return self._page(form, status=422)
        throttle = AuthRateThrottle()
        if not throttle.allow_request(request, self):
            wait = throttle.wait() or 60
            form.add_error(None, _wait_text(wait))
            response = self._page(form, status=429)
            response["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        serializer = RegisterSerializer(
            data={key: form.cleaned_data[key] for key in ("email", "password", "full_name")}
        )
        if not serializer.is_valid():
            add_serializer_errors(form, serializer.errors)
            return self._page(form, status=422)
        try:
            user = accounts.user_register(**serializer.validated_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
            return self._page(form, status=exc.status)
        language = translation.get_language() or ""
        if language in dict(settings.LANGUAGES):  # their pages and emails, as they read these
            user = accounts.user_set_language(user=user, language=language)
        auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_next_url(request, reverse("portal:invitation")))
