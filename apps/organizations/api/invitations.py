"""Invitations: an organization's admins invite an email address (``/organizations/{id}/
invitations``); the invitee, signed in with that address, accepts or declines with the emailed
token (``/invitations/accept``, ``/invitations/decline``)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from aidmatch.access import MemberRole
from apps.accounts.api.serializers import MembershipBriefSerializer
from apps.core.idempotency import idempotent
from apps.core.permissions import UsersOnly
from apps.core.tabular import TabularListMixin
from apps.organizations import selectors
from apps.organizations.api.serializers import (
    InvitationCreateSerializer,
    InvitationSerializer,
    InvitationTokenSerializer,
)
from apps.organizations.filters import InvitationFilterSet
from apps.organizations.invitations import (
    invitation_accept,
    invitation_by_token,
    invitation_create,
    invitation_decline,
    invitation_list,
    invitation_revoke,
)
from apps.organizations.models import Invitation

TAGS = ["invitations"]


@extend_schema_view(
    get=extend_schema(summary="The organization's invitations (its admins)", tags=TAGS),
    post=extend_schema(
        summary="Invite an email address to join (admins of a verified organization)",
        description=(
            "The same answer whether or not the address has an account or is already a "
            "member; the token goes to the address by email, never into this response. "
            "Inviting an address with a pending invitation replaces it (a new token is sent)."
        ),
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer},
        tags=TAGS,
    ),
)
class InvitationListView(TabularListMixin, generics.ListAPIView):
    permission_classes = [UsersOnly]
    serializer_class = InvitationSerializer
    filterset_class = InvitationFilterSet
    ordering_fields = ["created_at", "expires_at"]
    queryset = Invitation.objects.none()  # the model, for the schema; get_queryset filters

    def get_queryset(self):
        organization = selectors.organization_for_insider(self.request, self.kwargs["pk"])
        return invitation_list(actor=self.request.user, organization=organization)

    @idempotent
    def post(self, request, pk):
        organization = selectors.organization_for_insider(request, pk)
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = invitation_create(
            actor=request.user,
            organization=organization,
            email=serializer.validated_data["email"],
            role=MemberRole(serializer.validated_data["role"]),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationRevokeView(APIView):
    permission_classes = [UsersOnly]

    @extend_schema(
        summary="Revoke a pending invitation (admins)",
        request=None,
        responses=InvitationSerializer,
        tags=TAGS,
    )
    def post(self, request, pk, invitation_id):
        organization = selectors.organization_for_insider(request, pk)
        invitation = get_object_or_404(
            Invitation.objects.select_related("organization"),
            pk=invitation_id,
            organization=organization,
        )
        invitation = invitation_revoke(actor=request.user, invitation=invitation)
        return Response(InvitationSerializer(invitation).data)


def _by_token(request) -> Invitation:
    serializer = InvitationTokenSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    invitation = invitation_by_token(serializer.validated_data["token"])
    if invitation is None:
        raise NotFound(gettext("No invitation has this token."))
    return invitation


class InvitationAcceptView(APIView):
    permission_classes = [UsersOnly]

    @extend_schema(
        summary="Accept an invitation (the invitee, signed in with the invited address)",
        description=(
            "The signed-in account's email must be the invited address (case-insensitive). "
            "The caller becomes a member with the invited role; the token then stops working."
        ),
        request=InvitationTokenSerializer,
        responses=MembershipBriefSerializer,
        tags=TAGS,
    )
    def post(self, request):
        membership = invitation_accept(user=request.user, invitation=_by_token(request))
        return Response(MembershipBriefSerializer(membership).data)


class InvitationDeclineView(APIView):
    permission_classes = [UsersOnly]

    @extend_schema(
        summary="Decline an invitation (the invitee, signed in with the invited address)",
        request=InvitationTokenSerializer,
        responses={204: None},
        tags=TAGS,
    )
    def post(self, request):
        invitation_decline(user=request.user, invitation=_by_token(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
