from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response

from aidmatch.access import Scope
from apps.core import partner
from apps.core.actors import is_api_key
from apps.core.idempotency import idempotent
from apps.core.permissions import ScopedForApiKeys
from apps.core.routers import UUID_LOOKUP
from apps.core.schema import ByTierSerializer
from apps.core.serializers import SerializerPerRow
from apps.core.tabular import TabularListMixin
from apps.core.transactions import one_transaction
from apps.needs import selectors, services
from apps.needs.api.serializers import (
    NeedFullSerializer,
    NeedInputSerializer,
    NeedPublicSerializer,
    NeedRestrictedSerializer,
)
from apps.needs.filters import NeedFilterSet
from apps.needs.selectors import Detail
from apps.organizations.access import is_verifier, member_org_ids
from apps.organizations.models import Organization

SERIALIZERS = {
    Detail.PUBLIC: NeedPublicSerializer,
    Detail.RESTRICTED: NeedRestrictedSerializer,
    Detail.CONFIDENTIAL: NeedFullSerializer,
}
# The same, named for the schema (apps.core.schema.ByTierSerializer).
LEVELS = {"public": NeedPublicSerializer, "signed-in": NeedRestrictedSerializer}
LEVELS["insider"] = NeedFullSerializer
# The HXL hashtags of ?format=hxl (HXL 1.1 core hashtags and attributes). A need's
# beneficiaries are the people it targets (#targeted), not yet people reached (#reached, the
# delivery reports'); adults and children by sex as the HXL disaggregation attributes.
HXL_TAGS = {
    "id": "#activity+code",
    "status": "#status",
    "sector": "#sector+cluster+code",
    "province": "#adm1+code",
    "district": "#adm2+code",
    "amount": "#value+requirement",
    "currency": "#currency",
    "funded_amount": "#value+funding",
    "remaining_amount": "#value+remaining",
    "percent_funded": "#value+pct+funded",
    "urgency": "#severity",
    "deadline": "#date+deadline",
    "created_at": "#date+created",
    "title": "#activity+name",
    "description": "#activity+description",
    "organization.id": "#org+code",
    "organization.name": "#org+name",
    "committed_amount": "#value+committed",
    "disbursed_amount": "#value+disbursed",
    "beneficiaries_women": "#targeted+f+adults",
    "beneficiaries_girls": "#targeted+f+children",
    "beneficiaries_men": "#targeted+m+adults",
    "beneficiaries_boys": "#targeted+m+children",
}
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, description="The ETag you read; a stale one is 412."
)


def _if_match(request) -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise ValidationError(
            {"If-Match": [gettext('Send the ETag of the need, e.g. "3".')]}
        ) from None


@extend_schema_view(
    list=extend_schema(
        summary="Needs the caller may see",
        description=(
            "Anonymous callers see open needs' public fields only; signed-in callers also see "
            "title, description, district and organization (a pseudonym for sensitive ones); "
            "the organization's members and verifiers see everything."
        ),
        responses=ByTierSerializer("NeedAtAnyDetail", LEVELS, many=True),
    ),
    retrieve=extend_schema(
        responses=ByTierSerializer("NeedAtAnyDetail", LEVELS),
        description="At the caller's level of detail, as in the list.",
    ),
    create=extend_schema(request=NeedInputSerializer, responses={201: NeedFullSerializer}),
    partial_update=extend_schema(
        request=NeedInputSerializer, responses=NeedFullSerializer, parameters=[IF_MATCH]
    ),
)
class NeedViewSet(
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = UUID_LOOKUP  # the model is known only per request
    filterset_class = NeedFilterSet
    hxl_tags = HXL_TAGS
    ordering_fields = ["urgency", "deadline", "remaining_amount", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {
        "list": Scope.NEEDS_READ,
        "retrieve": Scope.NEEDS_READ,
        "create": Scope.NEEDS_WRITE,
        "partial_update": Scope.NEEDS_WRITE,
        "submit": Scope.NEEDS_WRITE,
        "cancel": Scope.NEEDS_WRITE,
    }

    def get_permissions(self):
        if self.request.method in SAFE_METHODS and not is_api_key(self.request):
            return [AllowAny()]
        return [ScopedForApiKeys()]

    def get_queryset(self):
        if self.request.method in SAFE_METHODS:
            return selectors.needs_to_show(self.request)
        return selectors.needs_visible_to(self.request)

    def get_serializer_class(self):
        return (
            NeedInputSerializer if self.request.method not in SAFE_METHODS else NeedFullSerializer
        )

    def _out_many(self, needs) -> list[dict]:
        """Each need at the caller's level of detail (its exact location decrypted only where
        the caller may read it), each level's serializer built once per process."""
        levels = [selectors.detail_level(self.request, n) for n in needs]
        full = [n for n, level in zip(needs, levels, strict=True) if level == Detail.CONFIDENTIAL]
        selectors.prepare_to_show(needs, full)
        mine = member_org_ids(self.request)
        partner.show_to_creator(full, lambda need: need.organization_id in mine)
        return SerializerPerRow(SERIALIZERS).many(zip(levels, needs, strict=True))

    def _show(self, need, status_code=status.HTTP_200_OK):
        response = Response(self._out_many([need])[0], status=status_code)
        if selectors.detail_level(self.request, need) == Detail.CONFIDENTIAL:
            response["ETag"] = need.etag
        return response

    def _respond(self, need, status_code=status.HTTP_200_OK):
        """After a change: the need as stored now."""
        return self._show(selectors.needs_to_show(self.request).get(pk=need.pk), status_code)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._out_many(page))

    def retrieve(self, request, *args, **kwargs):
        return self._show(self.get_object())

    def _own_need(self, pk):
        """A need the caller may change: its organization's members and keys only."""
        need = get_object_or_404(self.get_queryset(), pk=pk)
        if need.organization_id not in member_org_ids(self.request):
            if is_verifier(self.request):
                raise PermissionDenied(
                    gettext("Only the organization's members may change its needs.")
                )
            raise NotFound()
        return need

    @idempotent  # partner apps retry their posts
    def create(self, request, *args, **kwargs):
        serializer = NeedInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = self._organization_for_create(data.pop("organization", None))
        need = services.need_create(
            organization=organization,
            created_by=None if is_api_key(request) else request.user,
            api_key=request.auth if is_api_key(request) else None,
            **data,
        )
        return self._respond(need, status.HTTP_201_CREATED)

    def _organization_for_create(self, organization_id) -> Organization:
        mine = member_org_ids(self.request)
        if organization_id is None:
            if len(mine) != 1:
                raise ValidationError(
                    {"organization": [gettext("Say which of your organizations.")]}
                )
            (organization_id,) = mine
        if organization_id not in mine:
            raise ValidationError(
                {"organization": [gettext("You are not a member of this organization.")]}
            )
        return Organization.objects.get(pk=organization_id)

    @one_transaction
    def partial_update(self, request, pk=None, *args, **kwargs):
        need = self._own_need(pk)
        serializer = NeedInputSerializer(need, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "organization" in data:
            raise ValidationError(
                {"organization": [gettext("A need cannot move to another organization.")]}
            )
        need = services.need_update(need_id=need.pk, if_match=_if_match(request), **data)
        return self._respond(need)

    @extend_schema(request=None, responses=NeedFullSerializer)
    @one_transaction
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        need = services.need_submit(need_id=self._own_need(pk).pk)
        return self._respond(need)

    @extend_schema(request=None, responses=NeedFullSerializer)
    @one_transaction
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        need = services.need_cancel(need_id=self._own_need(pk).pk)
        return self._respond(need)

    @extend_schema(request=None, responses=NeedFullSerializer, summary="Approve (verifiers)")
    @one_transaction
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        if not is_verifier(request):
            get_object_or_404(self.get_queryset(), pk=pk)
            raise PermissionDenied(gettext("Only verifiers approve needs."))
        need = get_object_or_404(self.get_queryset(), pk=pk)
        return self._respond(services.need_approve(need_id=need.pk, verifier=request.user))

    @extend_schema(request=None, responses=NeedFullSerializer, summary="Send back to draft")
    @one_transaction
    @action(detail=True, methods=["post"], url_path="return-to-draft")
    def return_to_draft(self, request, pk=None):
        if is_verifier(request):
            need = get_object_or_404(self.get_queryset(), pk=pk)
        else:
            need = self._own_need(pk)
        return self._respond(services.need_return_to_draft(need_id=need.pk))
