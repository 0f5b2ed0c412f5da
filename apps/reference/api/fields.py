from rest_framework import serializers

from apps.reference.cache import reference_row


class ReferenceCodeField(serializers.SlugRelatedField):
    """A currency, sector or province by its code, validated against the per-process reference
    cache (``apps.reference.cache``) rather than one query per code."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", kwargs["queryset"].model._meta.pk.name)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        row = reference_row(self.get_queryset().model, data)
        if row is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return row
