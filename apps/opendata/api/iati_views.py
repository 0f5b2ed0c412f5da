"""IATI 2.03 files of a publishing organization (being built: see issue 11)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny


@extend_schema(exclude=True)  # until built
@api_view(["GET"])
@permission_classes([AllowAny])
def activities_view(request, pk):
    raise NotFound()


@extend_schema(exclude=True)  # until built
@api_view(["GET"])
@permission_classes([AllowAny])
def organisation_view(request, pk):
    raise NotFound()
