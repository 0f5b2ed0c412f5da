"""Filter pieces every app's filtersets use."""

import django_filters
from django import forms
from django.db import models


class QueryBooleanFormField(forms.Field):
    """``true`` or ``false``; absent or empty means no filter; anything else is a 400."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError('Must be "true" or "false".', code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    """django-filter's BooleanFilter ignores values it cannot read (``?afghan_led=junk``
    filtered nothing); this one refuses them."""

    field_class = QueryBooleanFormField


class FilterSet(django_filters.FilterSet):
    """A filterset whose filters generated from model booleans (``Meta.fields``) are strict."""

    FILTER_DEFAULTS = {
        **django_filters.filterset.FILTER_FOR_DBFIELD_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
    }
