"""What the pledge and recurring-pledge views share: a donor's own resource, made by a user or
by an institution through its API key, answered as the service left it."""

from django.db.models import prefetch_related_objects
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.response import Response

from apps.core.actors import is_api_key
from apps.core.serializers import represent


class DonorResourceMixin:
    """For a view set whose ``get_queryset`` is what the caller may see: ``output_serializer``
    shows the resource, ``create_serializer`` reads a new one."""

    output_serializer: type
    create_serializer: type

    def _visible(self):
        """The object in the URL if the caller may see it (404 otherwise), without its
        earmarks: the service locks and reads it again."""
        return get_object_or_404(
            self.get_queryset().select_related(None).prefetch_related(None), pk=self.kwargs["pk"]
        )

    def _respond(self, obj, status_code=status.HTTP_200_OK):
        """The object as the service left it (its row as written, currency cached), with its
        earmarks read unless the service already knows them."""
        if "earmark_sectors" not in getattr(obj, "_prefetched_objects_cache", {}):
            prefetch_related_objects([obj], "earmark_sectors", "earmark_provinces")
        data = represent(self.output_serializer, obj, {"request": self.request})
        return Response(data, status=status_code)

    def _create(self, request, make):
        """``make`` (a service) called for the donor: the user, or the API key's institution."""
        serializer = self.create_serializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        key = request.auth if is_api_key(request) else None
        obj = make(
            donor=None if key else request.user,
            donor_organization=key.organization if key else None,
            api_key=key,
            **serializer.validated_data,
        )
        return self._respond(obj, status.HTTP_201_CREATED)
