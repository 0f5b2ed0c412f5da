from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aidmatch.access import MemberRole, Scope
from apps.core.idempotency import idempotent
from apps.core.permissions import ScopedForApiKeys, UsersOnly
from apps.core.routers import UUID_LOOKUP
from apps.core.schema import ByTierSerializer
from apps.core.serializers import SerializerPerRow
from apps.core.tabular import TabularListMixin
from apps.core.transactions import one_transaction
from apps.organizations import selectors, services
from apps.organizations.access import can_see_confidential
from apps.organizations.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    OrganizationOutsiderSerializer,
    OrganizationSerializer,
)
from apps.organizations.filters import OrganizationFilterSet
from apps.organizations.models import ApiKey, Membership

# What the caller sees of an organization: the whole record (members, verifiers) or not.
LEVELS = {"outsider": OrganizationOutsiderSerializer, "insider": OrganizationSerializer}


@extend_schema_view(
    list=extend_schema(
        summary="Organizations the caller may see",
        responses=ByTierSerializer("OrganizationAtAnyDetail", LEVELS, many=True),
        description="Members and verifiers get the full record (OrganizationSerializer).",
    ),
    retrieve=extend_schema(
        responses=ByTierSerializer("OrganizationAtAnyDetail", LEVELS),
        description="Members and verifiers get the full record (OrganizationSerializer).",
    ),
    create=extend_schema(request=OrganizationSerializer, responses={201: OrganizationSerializer}),
    partial_update=extend_schema(request=OrganizationSerializer, responses=OrganizationSerializer),
)
class OrganizationViewSet(
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = UUID_LOOKUP  # the model is known only per request
    permission_classes = [ScopedForApiKeys]
    required_scopes = {"list": Scope.ORGANIZATION_READ, "retrieve": Scope.ORGANIZATION_READ}
    filterset_class = OrganizationFilterSet
    ordering_fields = ["created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    tabular_actions = ("list", "members")
    tabular_serializers = {"members": MembershipSerializer}

    def get_queryset(self):
        return selectors.organizations_visible_to(self.request)

    def get_serializer_class(self):
        return OrganizationSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        request = self.request
        if request is not None and request.user.is_authenticated and request.user.pk:
            context["roles"] = dict(
                Membership.objects.filter(user=request.user).values_list("organization_id", "role")
            )
        return context

    def _serialize(self, obj, context):
        """The whole record for members and verifiers; the outsider's view for anyone else."""
        if can_see_confidential(self.request, obj.pk):
            return OrganizationSerializer(obj, context=context).data
        return OrganizationOutsiderSerializer(obj, context=context).data

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(selectors.organizations_to_list(request))
        page = self.paginate_queryset(queryset)
        insider = selectors.reveal_to_insiders(request, page)
        out = SerializerPerRow(
            {True: OrganizationSerializer, False: OrganizationOutsiderSerializer},
            self.get_serializer_context(),
        )
        return self.get_paginated_response(out.many(zip(insider, page, strict=True)))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._serialize(self.get_object(), self.get_serializer_context()))

    @idempotent
    def create(self, request, *args, **kwargs):
        if not UsersOnly().has_permission(request, self):
            self.permission_denied(request, message=UsersOnly.message)
        serializer = OrganizationSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        organization = services.organization_register(
            creator=request.user, **serializer.validated_data
        )
        context = {**self.get_serializer_context(), "roles": {organization.pk: MemberRole.ADMIN}}
        return Response(OrganizationSerializer(organization, context=context).data, status=201)

    @one_transaction
    def partial_update(self, request, *args, **kwargs):
        organization = self.get_object()
        if not UsersOnly().has_permission(request, self):
            self.permission_denied(request, message=UsersOnly.message)
        serializer = OrganizationSerializer(
            organization, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        organization = services.organization_update(
            actor=request.user, organization=organization, **serializer.validated_data
        )
        return Response(
            OrganizationSerializer(organization, context=self.get_serializer_context()).data
        )

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(
        responses=MembershipSerializer(many=True),
        description="People join by invitation only (POST /organizations/{id}/invitations).",
    )
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[UsersOnly],
        pagination_class=None,  # all members, in one list
        filter_backends=[],
    )
    def members(self, request, pk=None):
        organization = selectors.organization_for_insider(request, pk)
        memberships = selectors.memberships_of(organization)
        return Response(MembershipSerializer(memberships, many=True).data)

    @extend_schema(
        request=MembershipUpdateSerializer,
        responses={200: MembershipSerializer, 204: OpenApiResponse(description="Removed")},
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"members/(?P<membership_id>[0-9]+)",
        permission_classes=[UsersOnly],
    )
    def member(self, request, pk=None, membership_id=None):
        organization = selectors.organization_for_insider(request, pk)
        membership = get_object_or_404(
            Membership.objects.select_related("user", "organization"),
            pk=membership_id,
            organization=organization,
        )
        if request.method == "DELETE":
            services.membership_remove(actor=request.user, membership=membership)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = MembershipUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            actor=request.user,
            membership=membership,
            role=MemberRole(serializer.validated_data["role"]),
        )
        return Response(MembershipSerializer(membership).data)


@extend_schema_view(
    list=extend_schema(summary="API keys of the organizations the caller administers"),
    create=extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer}),
)
class ApiKeyViewSet(
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [UsersOnly]
    serializer_class = ApiKeySerializer
    lookup_field = "prefix"
    ordering = "-created"
    ordering_fields = ["created"]
    filterset_fields = ["organization", "revoked"]

    queryset = ApiKey.objects.none()  # the model, for the schema; get_queryset filters

    def get_queryset(self):
        admin_of = Membership.objects.filter(user=self.request.user, role=MemberRole.ADMIN)
        return selectors.api_keys_of(admin_of.values("organization_id"))

    def create(self, request, *args, **kwargs):
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = get_object_or_404(
            selectors.organizations_visible_to(request), pk=data["organization"]
        )
        api_key, key = services.api_key_create(
            actor=request.user,
            organization=organization,
            name=data["name"],
            scopes=data["scopes"],
            expiry_date=data.get("expires_at"),
        )
        api_key.key = key
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, prefix=None):
        api_key: ApiKey = self.get_object()
        api_key = services.api_key_revoke(actor=request.user, api_key=api_key)
        return Response(ApiKeySerializer(api_key).data)
