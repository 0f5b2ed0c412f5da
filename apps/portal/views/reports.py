"""File a delivery report with an evidence file, through ReportCreateSerializer, report_file
and evidence_attach (the same file checks as the API), in one transaction: a refused file
files no report."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext

from aidmatch.errors import DomainError
from apps.portal.forms import ReportForm
from apps.portal.views.base import PortalView, add_domain_errors, add_serializer_errors
from apps.portal.views.needs import own_need
from apps.reports import services
from apps.reports.api.serializers import EvidenceUploadSerializer, ReportCreateSerializer

COUNTS = ("reached_women", "reached_girls", "reached_men", "reached_boys", "households")


class _Refused(Exception):
    pass


class ReportCreateView(PortalView):
    template = "portal/report_form.html"

    def _need(self, pk):
        need = own_need(self.request, pk)
        if need.status not in services.REPORTABLE:
            raise Http404
        return need

    def _page(self, need, form, status=200):
        return self.render(self.template, {"need": need, "form": form}, status=status)

    def get(self, request, pk):
        need = self._need(pk)
        return self._page(need, ReportForm(line_items=need.line_items.all()))

    def post(self, request, pk):
        need = self._need(pk)
        form = ReportForm(request.POST, request.FILES, line_items=need.line_items.all())
        if form.is_valid():
            data = self._input(need, form)
            serializer = ReportCreateSerializer(data=data)
            if serializer.is_valid():
                try:
                    with transaction.atomic():
                        self._file(need, form, serializer)
                except DomainError as exc:
                    add_domain_errors(form, exc)
                except _Refused:
                    pass
                else:
                    messages.success(request, gettext("The report was filed."))
                    return redirect("portal:need", pk=need.pk)
            else:
                add_serializer_errors(form, serializer.errors)
        return self._page(need, form, status=422)

    @staticmethod
    def _input(need, form) -> dict:
        cleaned = form.cleaned_data
        data = {
            k: cleaned[k]
            for k in ("period_start", "period_end", "narrative", "amount_spent", *COUNTS)
            if cleaned.get(k) not in ("", None)
        }
        data["need"] = str(need.pk)
        data["final"] = bool(cleaned.get("final"))
        items = [
            {"line_item": item.pk, "quantity": cleaned[f"item_{item.pk}"]}
            for item in form.line_items
            if cleaned.get(f"item_{item.pk}") not in ("", None)
        ]
        if items:
            data["items"] = items
        return data

    def _file(self, need, form, serializer):
        data = dict(serializer.validated_data)
        data.pop("need")
        data = serializer.validate_amount_for(need, data)
        report = services.report_file(
            need_id=need.pk, created_by=self.request.user, items=data.pop("items", []), **data
        )
        upload = form.cleaned_data.get("evidence")
        if upload:
            checked = EvidenceUploadSerializer(data={"file": upload})
            if not checked.is_valid():
                add_serializer_errors(form, checked.errors, rename={"file": "evidence"})
                raise _Refused
            try:
                services.evidence_attach(
                    report=report,
                    upload=checked.validated_data["file"],
                    uploaded_by=self.request.user,
                )
            except DomainError as exc:
                exc.errors = {"evidence" if k == "file" else k: v for k, v in exc.errors.items()}
                raise
        return report
