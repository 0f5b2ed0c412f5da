"""What every portal page shares: a signed-in member of an organization, in their language.

The portal holds no rule of its own: who may see and do what is decided by the selectors and
services the API uses (apps.organizations.access, the apps' selectors and services). A page
adds only what a session needs: the sign-in redirect, the organization being worked on, and the
user's saved language."""

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views import View

from aidmatch.access import MemberRole
from aidmatch.errors import DomainError
from apps.core.i18n import domain_errors, domain_message
from apps.organizations.access import member_org_ids, member_role
from apps.organizations.models import Organization
from apps.organizations.selectors import SECRETS

SESSION_ORGANIZATION = "portal_organization"
SESSION_INVITATION = "portal_invitation"  # the digest of the invitation being answered


def activate_user_language(request) -> None:
    """A signed-in user's saved language wins over the cookie and the browser's."""
    user = getattr(request, "user", None)
    language = getattr(user, "language", "") if user and user.is_authenticated else ""
    if language and language != translation.get_language():
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


def forbidden(request, message: str = ""):
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


def add_domain_errors(form, exc: DomainError) -> None:
    """A refusal of a service as form errors: the detail on top, field messages by field."""
    form.add_error(None, domain_message(exc))
    for field, messages in domain_errors(exc).items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def add_serializer_errors(form, errors, *, rename=None) -> None:
    """An API serializer's validation errors as form errors (nested lists flattened)."""
    rename = rename or {}
    for field, messages in errors.items():
        name = rename.get(field, field)
        for message in _flat(messages):
            form.add_error(name if name in form.fields else None, gettext(str(message)))


def _flat(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flat(value)
    elif isinstance(messages, list | tuple):
        for value in messages:
            yield from _flat(value)
    else:
        yield messages


class PortalView(View):
    """A page for the members of an organization (``admin_only``: its admins)."""

    admin_only = False

    def dispatch(self, request, *args, **kwargs):
        request.auth = None  # a session: no bearer token, no API key (apps.core.actors)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        activate_user_language(request)
        mine = member_org_ids(request)
        if not mine:
            return forbidden(request, gettext("This portal is for members of an organization."))
        self.organizations = list(
            Organization.objects.filter(pk__in=mine).defer(*SECRETS).order_by("name")
        )
        chosen = request.session.get(SESSION_ORGANIZATION)
        self.organization = next(
            (o for o in self.organizations if str(o.pk) == chosen), self.organizations[0]
        )
        self.role = member_role(request, self.organization.pk)
        if self.admin_only and self.role != MemberRole.ADMIN:
            return forbidden(request, gettext("Only an admin of this organization may do this."))
        try:
            return super().dispatch(request, *args, **kwargs)
        except Http404:  # not there, or another organization's: the same answer
            return self.render("portal/not_found.html", status=404)

    def render(self, template: str, context: dict | None = None, status: int = 200):
        context = {
            "organization": self.organization,
            "organizations": self.organizations,
            "is_admin": self.role == MemberRole.ADMIN,
            **(context or {}),
        }
        return render(self.request, template, context, status=status)
