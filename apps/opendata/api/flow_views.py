"""FTS-style flows (being built: see issue 11)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny


@extend_schema(exclude=True)  # until built
class FlowListView(generics.GenericAPIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise NotFound()
