"""Sign in and out, the language switch, and which organization the pages work on."""

import math

from django.conf import settings
from django.contrib import auth, messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.views import View
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from apps.accounts import services as accounts
from apps.accounts.login_limits import LoginLocked
from apps.core.throttling import AuthRateThrottle
from apps.organizations.access import member_org_ids
from apps.organizations.models import Membership
from apps.portal.forms import SignInForm
from apps.portal.views.base import (
    SESSION_INVITATION,
    SESSION_ORGANIZATION,
    PortalView,
    activate_user_language,
)


def _next_url(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _wait_text(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many attempts. Try again in %(minutes)s minute.",
        "Too many attempts. Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


class SignInView(View):
    """The API's token sign-in rules with a session: the per-address ``auth`` throttle, the
    per-email attempt limit, the same password check; then members of an organization only."""

    template = "portal/sign_in.html"

    def get(self, request):
        request.auth = None
        if request.user.is_authenticated and member_org_ids(request):
            return redirect("portal:dashboard")
        if request.user.is_authenticated and heading_to_invitation(request):
            return redirect("portal:invitation")
        return self._page(SignInForm())  # (a non-member may sign in as someone else)

    def _page(self, form, status=200):
        next_url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        return render(self.request, self.template, {"form": form, "next": next_url}, status=status)

    def _throttled(self, form, wait: float):
        """As the API's 429: the wait in words and in Retry-After."""
        form.add_error(None, _wait_text(wait))
        response = self._page(form, status=429)
        response["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    def post(self, request):
        request.auth = None
        form = SignInForm(request.POST)
        if not form.is_valid():
            return self._page(form)
        throttle = AuthRateThrottle()
        if not throttle.allow_request(request, self):
            return self._throttled(form, throttle.wait() or 60)
        try:
            user = accounts.user_authenticate(
                email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except LoginLocked as locked:
            return self._throttled(form, locked.wait)
        except accounts.InvalidCredentials:
            form.add_error(None, gettext("The email or password is wrong."))
            return self._page(form)
        # Members of an organization only; anyone, to answer the invitation they were sent.
        invited = heading_to_invitation(request)
        if not invited and not Membership.objects.filter(user=user).exists():
            form.add_error(None, gettext("This portal is for members of an organization."))
            return self._page(form, status=403)
        auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        activate_user_language(request)
        response = redirect(_next_url(request, reverse("portal:dashboard")))
        if user.language:
            _set_language_cookie(response, user.language)
        return response


def heading_to_invitation(request) -> bool:
    """The sign-in's ``next`` (a safe one) is the invitation page, with an invitation kept in
    the session (apps.portal.views.invitations): a non-member may sign in to answer it."""
    target = _next_url(request, "")
    return bool(request.session.get(SESSION_INVITATION)) and (
        target.split("?")[0] == reverse("portal:invitation")
    )


def _set_language_cookie(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@require_POST
def sign_out(request):
    auth.logout(request)
    return redirect("portal:login")


@require_POST
def set_language(request):
    """The language switch of the portal's pages: Django's (the cookie, then back to the page),
    and the choice saved as the signed-in user's language (their pages and emails)."""
    language = request.POST.get("language", "")
    user = request.user
    if (
        user.is_authenticated
        and translation.check_for_language(language)
        and language in dict(settings.LANGUAGES)
        and user.language != language
    ):
        user.language = language
        user.save(update_fields=["language"])
    return django_set_language(request)


class ChooseOrganizationView(PortalView):
    """Which of the user's organizations the pages work on (members of several)."""

    def post(self, request):
        chosen = request.POST.get("organization", "")
        if any(str(o.pk) == chosen for o in self.organizations):
            request.session[SESSION_ORGANIZATION] = chosen
        else:
            messages.error(request, gettext("You are not a member of this organization."))
        return redirect("portal:dashboard")
