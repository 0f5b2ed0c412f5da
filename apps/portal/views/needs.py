"""A need: create, edit and submit it with its line items, through the API's input serializer
(NeedInputSerializer) and the needs' services; read it as its organization's members do."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext

from aidmatch.errors import DomainError
from aidmatch.lifecycle import NeedStatus
from apps.audit.reads import note_confidential_read
from apps.disbursements.selectors import disbursements_visible_to
from apps.matching.selectors import allocations_visible_to
from apps.needs import services
from apps.needs.api.serializers import NeedInputSerializer
from apps.needs.selectors import needs_visible_to
from apps.organizations.access import member_org_ids
from apps.portal import labels
from apps.portal.forms import LineItemForm, NeedForm, PortalRenderer
from apps.portal.views.base import (
    PortalView,
    add_domain_errors,
    add_serializer_errors,
    domain_message,
)
from apps.portal.views.dashboard import donors_as_shown, percent_funded
from apps.reports.selectors import reports_visible_to
from apps.reports.services import REPORTABLE

# What may be edited in which state is the service's rule (services.need_update); the pages
# offer the form in the states the service takes edits in.
EDITABLE = (NeedStatus.DRAFT, NeedStatus.SUBMITTED, *services.OPEN_STATES)
NEW_ROWS = 3  # empty line-item rows offered under the filled ones (no JavaScript to add more)
OPTIONAL_NUMBERS = (
    "beneficiaries_women",
    "beneficiaries_girls",
    "beneficiaries_men",
    "beneficiaries_boys",
    "amount",
)


def own_need(request, pk):
    """A need of one of the caller's organizations (anyone else: 404, as in the API)."""
    need = get_object_or_404(needs_visible_to(request), pk=pk)
    if need.organization_id not in member_org_ids(request):
        raise Http404
    return need


def _input(form, formset) -> dict:
    """What the forms hold, in the API's input shape (empty optional fields left out)."""
    data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
    for name in OPTIONAL_NUMBERS:
        if data.get(name) in ("", None):
            data.pop(name, None)
    data["district"] = data.get("district") or None
    rows = [f for f in formset if f.is_valid() and not f.is_blank()]
    items = [{k: f.cleaned_data[k] for k in LineItemForm.FIELDS} for f in rows]
    for item in items:
        if not item["unit"]:
            item.pop("unit")
    if items:
        data["line_items"] = items
    formset.filled_rows = rows
    return data


def _line_item_errors(form, formset, errors: dict) -> dict:
    """Put the serializer's per-row line-item errors on their rows; the rest back to the form."""
    rest = {}
    for field, found in errors.items():
        if field == "line_items" and isinstance(found, dict | list):
            # per row: a list of each item's errors, or a dict of them by index (DRF)
            by_row = found if isinstance(found, dict) else dict(enumerate(found))
            if all(isinstance(k, int) and isinstance(v, dict) for k, v in by_row.items()):
                for index, row_errors in by_row.items():
                    if index < len(formset.filled_rows):
                        add_serializer_errors(formset.filled_rows[index], row_errors)
                continue
        if field.startswith("line_items.") and field.count(".") == 2:
            _, index, name = field.split(".")
            if index.isdigit() and int(index) < len(formset.filled_rows):
                add_serializer_errors(formset.filled_rows[int(index)], {name: found})
                continue
        rest[field] = found
    return rest


def _plain(amount) -> str:
    """An amount as typed: 1750 for 1750.00, 12.5 for 12.50."""
    return str(int(amount)) if amount % 1 == 0 else str(amount.normalize())


def _formset(data=None, items=()):
    initial = [
        {
            "description": li.description,
            "unit": li.unit,
            "unit_cost": _plain(li.unit_cost),
            "quantity": li.quantity,
        }
        for li in items
    ]
    extra = NEW_ROWS if initial else NEW_ROWS + 2
    formset = forms.formset_factory(
        LineItemForm, extra=extra, max_num=200, renderer=PortalRenderer()
    )(data, initial=initial or None, prefix="items")
    formset.filled_rows = []
    return formset


class NeedCreateView(PortalView):
    template = "portal/need_form.html"

    def get(self, request):
        form = NeedForm(initial={"currency": "AFN", "urgency": "3"})
        return self.render(self.template, {"form": form, "formset": _formset()})

    def post(self, request):
        form, formset = NeedForm(request.POST), _formset(request.POST)
        if form.is_valid() and formset.is_valid():
            serializer = NeedInputSerializer(data=_input(form, formset))
            if serializer.is_valid():
                try:
                    need = services.need_create(
                        organization=self.organization,
                        created_by=request.user,
                        **serializer.validated_data,
                    )
                except DomainError as exc:
                    add_domain_errors(form, exc)
                else:
                    messages.success(request, gettext("The need was saved as a draft."))
                    return redirect("portal:need", pk=need.pk)
            else:
                add_serializer_errors(form, _line_item_errors(form, formset, serializer.errors))
        return self.render(self.template, {"form": form, "formset": formset}, status=422)


def _unchanged(need, name, value) -> bool:
    current = getattr(need, name)
    if name == "location_detail":
        return (current or "") == value
    return current == value


class NeedEditView(PortalView):
    template = "portal/need_form.html"

    def _need(self, pk):
        need = own_need(self.request, pk)
        if need.status not in EDITABLE:
            raise Http404
        return need

    def get(self, request, pk):
        need = self._need(pk)
        items = list(need.line_items.all())
        initial = {
            name: getattr(need, name)
            for name in NeedForm.base_fields
            if name not in ("sector", "province", "district", "currency")
        }
        initial |= {
            "sector": need.sector_id,
            "province": need.province_id,
            "district": need.district_id or "",
            "currency": need.currency_id,
            "urgency": str(need.urgency),
            "deadline": need.deadline.isoformat(),
            # with line items the amount is their sum: the form asks for the items only
            "amount": "" if items else _plain(need.amount),
        }
        if need.location_detail:
            note_confidential_read(need, ["location_detail"])
        form = NeedForm(initial=initial)
        context = {"form": form, "formset": _formset(items=items), "need": need}
        return self.render(self.template, context)

    def post(self, request, pk):
        need = self._need(pk)
        form, formset = NeedForm(request.POST), _formset(request.POST)
        if form.is_valid() and formset.is_valid():
            data = _input(form, formset)
            if "line_items" in data:
                data.pop("amount", None)  # their sum
            else:
                data["line_items"] = []
            serializer = NeedInputSerializer(need, data=data, partial=True)
            if serializer.is_valid():
                validated = dict(serializer.validated_data)
                items = validated.pop("line_items", [])
                now = [
                    (li.description, li.unit, li.unit_cost, li.quantity)
                    for li in need.line_items.all()
                ]
                asked = [
                    (i["description"], i.get("unit", ""), i["unit_cost"], i["quantity"])
                    for i in items
                ]
                changes = {k: v for k, v in validated.items() if not _unchanged(need, k, v)}
                if asked != now and asked:
                    changes.pop("amount", None)
                elif asked != now and "amount" in validated:
                    changes["amount"] = validated["amount"]  # no more line items: this amount
                version = form.cleaned_data.get("version") or ""
                try:
                    services.need_update(
                        need_id=need.pk,
                        if_match=int(version) if version.isdigit() else None,
                        line_items=items if asked != now else None,
                        **changes,
                    )
                except DomainError as exc:
                    add_domain_errors(form, exc)
                else:
                    messages.success(request, gettext("The need was saved."))
                    return redirect("portal:need", pk=need.pk)
            else:
                add_serializer_errors(form, _line_item_errors(form, formset, serializer.errors))
        context = {"form": form, "formset": formset, "need": need}
        return self.render(self.template, context, status=422)


class NeedDetailView(PortalView):
    def get(self, request, pk):
        need = own_need(request, pk)
        if need.location_detail:
            note_confidential_read(need, ["location_detail"])  # shown on the page, as the API
        allocations = allocations_visible_to(request).filter(need=need).order_by("-proposed_at")
        tranches = (
            disbursements_visible_to(request)
            .filter(lines__allocation__need=need)
            .prefetch_related(None)
            .distinct()
            .order_by("created_at")
        )
        reports = reports_visible_to(request).filter(need=need).order_by("created_at")
        return self.render(
            "portal/need.html",
            {
                "need": need,
                "status_label": labels.status_label(need.status),
                "sector_label": need.sector.local_name(),
                "province_label": need.province.local_name(),
                "district_label": need.district.name if need.district else "",
                "percent_funded": percent_funded(need),
                "allocations": donors_as_shown(request, allocations),
                "tranches": tranches,
                "reports": reports,
                "can_edit": need.status in EDITABLE,
                "can_submit": need.status == NeedStatus.DRAFT,
                "can_report": need.status in REPORTABLE,
            },
        )


class NeedSubmitView(PortalView):
    def post(self, request, pk):
        need = own_need(request, pk)
        try:
            services.need_submit(need_id=need.pk)
        except DomainError as exc:
            messages.error(request, domain_message(exc))
        else:
            messages.success(request, gettext("The need was submitted for review."))
        return redirect("portal:need", pk=need.pk)
