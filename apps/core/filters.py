"""Filter pieces every app's filtersets use."""

import django_filters
from django import forms
from django.db import models
from django.utils.translation import gettext
from django_filters import rest_framework as filters_drf


class QueryBooleanFormField(forms.Field):
    """``true`` or ``false``; absent or empty means no filter; anything else is a 400."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError(gettext('Must be "true" or "false".'), code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    """django-filter's BooleanFilter ignores values it cannot read (``?afghan_led=junk``
    filtered nothing); this one refuses them."""

    field_class = QueryBooleanFormField


class FilterSet(filters_drf.FilterSet):
    """A filterset whose filters generated from model booleans (``Meta.fields``, or a view's
    ``filterset_fields``) are strict."""

    FILTER_DEFAULTS = {
        **filters_drf.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
    }


class DjangoFilterBackend(filters_drf.DjangoFilterBackend):
    """Builds the filterset of a view's ``filterset_fields`` on ours."""

    filterset_base = FilterSet
