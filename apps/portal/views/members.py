"""Members and partner API keys, for the organization's admins: the invitation flow
(apps.organizations.invitations) and the keys' services. Showing a member's or an invitee's
address is an audited read, through the API's own serializers."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.dateparse import parse_date
from django.utils.translation import gettext

from aidmatch.access import MemberRole
from aidmatch.errors import DomainError
from apps.organizations import invitations, selectors, services
from apps.organizations.api.serializers import (
    ApiKeyCreateSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    MembershipSerializer,
)
from apps.organizations.models import ApiKey, Invitation
from apps.portal import labels
from apps.portal.forms import ApiKeyForm, InvitationForm
from apps.portal.views.base import (
    PortalView,
    add_domain_errors,
    add_serializer_errors,
    domain_message,
)


class MembersView(PortalView):
    admin_only = True
    template = "portal/members.html"

    def _page(self, form, status=200):
        organization = self.organization
        memberships = list(selectors.memberships_of(organization))
        MembershipSerializer(memberships, many=True).data  # noqa: B018 (the audited read)
        pending = list(
            invitations.invitation_list(actor=self.request.user, organization=organization)
            .filter(status="pending")
            .order_by("-created_at")
        )
        InvitationSerializer(pending, many=True).data  # noqa: B018 (the audited read)
        context = {
            "memberships": [(m, labels.ROLE.get(m.role, m.role)) for m in memberships],
            "invitations": [
                (i, labels.status_label(i.shown_status()), labels.ROLE.get(i.role, i.role))
                for i in pending
            ],
            "form": form,
        }
        return self.render(self.template, context, status=status)

    def get(self, request):
        return self._page(InvitationForm(initial={"role": MemberRole.STAFF}))

    def post(self, request):
        form = InvitationForm(request.POST)
        if form.is_valid():
            serializer = InvitationCreateSerializer(data=form.cleaned_data)
            if serializer.is_valid():
                try:
                    invitations.invitation_create(
                        actor=request.user,
                        organization=self.organization,
                        email=serializer.validated_data["email"],
                        role=MemberRole(serializer.validated_data["role"]),
                    )
                except DomainError as exc:
                    add_domain_errors(form, exc)
                else:
                    messages.success(request, gettext("The invitation was sent."))
                    return redirect("portal:members")
            else:
                add_serializer_errors(form, serializer.errors)
        return self._page(form, status=422)


class InvitationRevokeView(PortalView):
    admin_only = True

    def post(self, request, invitation_id):
        invitation = get_object_or_404(
            Invitation.objects.select_related("organization"),
            pk=invitation_id,
            organization=self.organization,
        )
        try:
            invitations.invitation_revoke(actor=request.user, invitation=invitation)
        except DomainError as exc:
            messages.error(request, domain_message(exc))
        else:
            messages.success(request, gettext("The invitation was revoked."))
        return redirect("portal:members")


class ApiKeysView(PortalView):
    admin_only = True
    template = "portal/api_keys.html"

    def _page(self, form, status=200, created=None):
        keys = selectors.api_keys_of([self.organization.pk]).order_by("-created")
        response = self.render(
            self.template, {"keys": keys, "form": form, "created": created}, status=status
        )
        if created is not None:
            response["Cache-Control"] = "no-store"  # the key is shown once, never cached
        return response

    def get(self, request):
        return self._page(ApiKeyForm())

    def post(self, request):
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            data = {
                "organization": str(self.organization.pk),
                "name": form.cleaned_data["name"],
                "scopes": request.POST.getlist("scopes"),
            }
            expiry = _expiry(self.organization, form.cleaned_data["expires_at"])
            if expiry is not None:
                data["expires_at"] = expiry
            serializer = ApiKeyCreateSerializer(data=data)
            if serializer.is_valid():
                try:
                    api_key, key = services.api_key_create(
                        actor=request.user,
                        organization=self.organization,
                        name=serializer.validated_data["name"],
                        scopes=serializer.validated_data["scopes"],
                        expiry_date=serializer.validated_data.get("expires_at"),
                    )
                except DomainError as exc:
                    add_domain_errors(form, exc)
                else:
                    # Shown once, in this answer only (not after a redirect: never stored).
                    return self._page(ApiKeyForm(), status=201, created=(api_key, key))
            else:
                add_serializer_errors(form, serializer.errors)
        return self._page(form, status=422)


def _expiry(organization, day_text: str):
    """A day typed in the form: the end of that day in the organization's time zone."""
    day = parse_date(day_text or "")
    if day is None:
        return day_text or None  # the serializer says what is wrong with it
    zone = ZoneInfo(organization.time_zone or "Asia/Kabul")
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone).isoformat()


class ApiKeyRevokeView(PortalView):
    admin_only = True

    def post(self, request, prefix):
        api_key = get_object_or_404(
            ApiKey.objects.select_related("organization"),
            prefix=prefix,
            organization=self.organization,
        )
        try:
            services.api_key_revoke(actor=request.user, api_key=api_key)
        except DomainError as exc:
            messages.error(request, domain_message(exc))
        else:
            messages.success(request, gettext("The API key was revoked."))
        return redirect("portal:api-keys")
