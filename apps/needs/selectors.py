"""Which needs a caller may see, and at what level of detail (DESIGN.md, "Data protection")."""

from collections.abc import Iterable
from decimal import Decimal
from enum import IntEnum

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast, JSONObject

from aidmatch.lifecycle import NEED_PUBLIC
from apps.core.fields import decrypt_later, decrypt_now
from apps.core.serializers import set_prefetched_list
from apps.needs.models import Need, NeedLineItem
from apps.organizations.access import is_verifier, member_org_ids
from apps.organizations.models import Organization

# What showing a need reads of its organization (its name or pseudonym, whether it is
# sensitive); the rest, its encrypted contacts and principals above all, is never loaded.
_ORGANIZATION_SHOWN = {"id", "name", "pseudonym", "sensitive"}
_ORGANIZATION_UNUSED = tuple(
    f"organization__{f.name}"
    for f in Organization._meta.concrete_fields
    if f.name not in _ORGANIZATION_SHOWN
)


class Detail(IntEnum):
    PUBLIC = 1  # anyone: sector, province, amounts, urgency, deadline
    RESTRICTED = 2  # signed-in: title, description, district, organization (pseudonym if sensitive)
    CONFIDENTIAL = 3  # the organization's members and verifiers: everything


def needs_visible_to(request) -> QuerySet[Need]:
    qs = Need.objects.select_related(
        "organization", "sector", "province", "district", "currency"
    ).prefetch_related("line_items")
    if is_verifier(request):
        return qs
    public = Q(status__in=NEED_PUBLIC)
    if not request.user.is_authenticated:
        return qs.filter(public)
    return qs.filter(public | Q(organization_id__in=member_org_ids(request)))


# A need's line items, as one column of the needs' own query: a JSON array of objects, in
# order, amounts as text (exact; JSON numbers would be floats).
_LINE_ITEMS = "line_items_shown"
_LINE_ITEM_AMOUNTS = ("unit_cost", "amount")
_LINE_ITEM_COLUMNS = ("description", "unit", "quantity", *_LINE_ITEM_AMOUNTS)


def _line_items_column() -> ArraySubquery:
    rows = (
        NeedLineItem.objects.filter(need=OuterRef("pk"))
        .order_by("position")
        .values(
            row=JSONObject(
                **{
                    c: Cast(c, TextField()) if c in _LINE_ITEM_AMOUNTS else F(c)
                    for c in _LINE_ITEM_COLUMNS
                }
            )
        )
    )
    return ArraySubquery(rows)


def needs_to_show(request) -> QuerySet[Need]:
    """``needs_visible_to``, loaded for showing at the caller's level of detail: for signed-in
    callers the organization (what is shown of it: no contacts) and the line items (in the same
    query); the exact location left encrypted. ``prepare_to_show`` finishes the page. Codes
    (sector, province, district, currency) are shown from the row's own columns, no join."""
    qs = needs_visible_to(request).select_related(None).prefetch_related(None)
    qs = decrypt_later(qs, "location_detail")
    if not (request.user.is_authenticated or member_org_ids(request)):
        return qs
    qs = qs.select_related("organization").defer(*_ORGANIZATION_UNUSED)
    if connection.vendor != "postgresql":  # the embedded SQLite mode: a query of their own
        return qs.prefetch_related("line_items")
    return qs.annotate(**{_LINE_ITEMS: _line_items_column()})


def prepare_to_show(needs: Iterable[Need], full: Iterable[Need]) -> None:
    """Finish needs loaded by ``needs_to_show``: their line items as objects, and the exact
    location decrypted for ``full``, the rows the caller may read in full only, so that nobody
    else's response costs a decryption."""
    for need in needs:
        rows = getattr(need, _LINE_ITEMS, None)
        if rows is not None:
            set_prefetched_list(
                need,
                "line_items",
                [
                    NeedLineItem(
                        need=need,
                        **{c: Decimal(row[c]) if c in _LINE_ITEM_AMOUNTS else row[c] for c in row},
                    )
                    for row in rows
                ],
            )
    decrypt_now(full, "location_detail")


def detail_level(request, need: Need) -> Detail:
    if is_verifier(request) or need.organization_id in member_org_ids(request):
        return Detail.CONFIDENTIAL
    if request.user.is_authenticated:
        return Detail.RESTRICTED
    return Detail.PUBLIC
