"""Confirm receipt of a tranche, in afghanis, through ConfirmReceiptSerializer and
disbursement_confirm_receipt: the service decides whether this caller may, in this state, and
asks for a reason when the amount differs from what was expected."""

from decimal import ROUND_DOWN, Decimal

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext

from aidmatch.errors import DomainError
from apps.disbursements import services
from apps.disbursements.api.serializers import ConfirmReceiptSerializer
from apps.disbursements.selectors import disbursements_visible_to
from apps.organizations.access import member_org_ids
from apps.portal import labels
from apps.portal.forms import ConfirmReceiptForm
from apps.portal.views.base import PortalView, add_domain_errors, add_serializer_errors

RECEIVED_IN = "AFN"


def _expected_afn(tranche):
    """What the service will expect in afghanis (None when a line's need is in another
    currency: then it expects nothing and asks no reason)."""
    lines = list(tranche.lines.all())
    if {line.allocation.need.currency_id for line in lines} != {RECEIVED_IN}:
        return None
    minor = lines[0].allocation.need.currency.minor_unit
    return services.expected_received(tranche, lines).quantize(
        Decimal(1).scaleb(-minor), rounding=ROUND_DOWN
    )


class ConfirmReceiptView(PortalView):
    template = "portal/confirm_receipt.html"

    def _tranche(self, pk):
        mine = member_org_ids(self.request)
        return get_object_or_404(
            disbursements_visible_to(self.request).filter(organization_id__in=mine), pk=pk
        )

    def _page(self, tranche, form, status=200):
        context = {
            "tranche": tranche,
            "form": form,
            "expected": _expected_afn(tranche),
            "status_label": labels.status_label(tranche.status),
            "channel_label": labels.CHANNEL.get(tranche.channel, tranche.channel),
        }
        return self.render(self.template, context, status=status)

    def get(self, request, pk):
        return self._page(self._tranche(pk), ConfirmReceiptForm())

    def post(self, request, pk):
        tranche = self._tranche(pk)
        form = ConfirmReceiptForm(request.POST)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if v != ""}
            serializer = ConfirmReceiptSerializer(data={**data, "received_currency": RECEIVED_IN})
            if serializer.is_valid():
                try:
                    services.disbursement_confirm_receipt(
                        disbursement_id=tranche.pk,
                        actor=request.user,
                        acting_for=member_org_ids(request),
                        **serializer.validated_data,
                    )
                except DomainError as exc:
                    add_domain_errors(form, exc)
                else:
                    messages.success(request, gettext("The receipt was confirmed."))
                    return redirect("portal:dashboard")
            else:
                add_serializer_errors(form, serializer.errors)
        return self._page(tranche, form, status=422)
