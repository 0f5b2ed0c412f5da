"""The portal's forms: they draw the fields and collect what was typed. Checking it is left to
the API's own serializers and services (apps.portal.views map their errors onto these forms),
so the pages accept and refuse exactly what the API does."""

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.translation import gettext_lazy as _

from aidmatch.access import ALL_SCOPES
from apps.portal import labels
from apps.reference.models import Currency, District, Province, Sector


class PortalRenderer(DjangoTemplates):
    """Each field in its own block (label, errors, input): one column on a phone."""

    field_template_name = "portal/field.html"


class PortalForm(forms.Form):
    default_renderer = PortalRenderer


def _text(label, **kwargs):
    return forms.CharField(label=label, required=False, **kwargs)


def _number(label, **attrs):
    return _text(label, widget=forms.TextInput(attrs={"inputmode": "numeric", **attrs}))


def _amount(label):
    return _text(label, widget=forms.TextInput(attrs={"inputmode": "decimal"}))


def _date(label):
    return _text(label, widget=forms.DateInput(attrs={"type": "date"}))


def _choices(rows, blank: bool = False):
    return ([("", "—")] if blank else []) + list(rows)


class RegisterForm(PortalForm):
    """The fields of POST /api/v1/auth/register (its serializer and service check them)."""

    full_name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        help_text=_("At least 8 characters, not only digits, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class SignInForm(PortalForm):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class NeedForm(PortalForm):
    title = _text(_("Title"), max_length=200)
    description = _text(_("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    sector = _text(_("Sector"), widget=forms.Select)
    province = _text(_("Province"), widget=forms.Select)
    district = _text(_("District"), widget=forms.Select)
    location_detail = _text(
        _("Exact location (confidential)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    beneficiaries_women = _number(_("Women"))
    beneficiaries_girls = _number(_("Girls"))
    beneficiaries_men = _number(_("Men"))
    beneficiaries_boys = _number(_("Boys"))
    currency = _text(_("Currency"), widget=forms.Select)
    amount = _amount(_("Amount (leave empty when you list line items)"))
    urgency = _text(_("Urgency (1 low – 5 very urgent)"), widget=forms.Select)
    deadline = _date(_("Deadline"))
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].widget.choices = _choices(
            ((s.code, s.local_name()) for s in Sector.objects.all()), blank=True
        )
        self.fields["province"].widget.choices = _choices(
            ((p.pcode, p.local_name()) for p in Province.objects.all()), blank=True
        )
        self.fields["district"].widget.choices = _choices(
            ((d.pcode, d.name) for d in District.objects.all()), blank=True
        )
        self.fields["currency"].widget.choices = [
            (c, c) for c in Currency.objects.values_list("code", flat=True)
        ]
        self.fields["urgency"].widget.choices = [(str(n), str(n)) for n in range(1, 6)]


class LineItemForm(PortalForm):
    description = _text(_("Item"), max_length=300)
    unit = _text(_("Unit"), max_length=50)
    unit_cost = _amount(_("Unit cost"))
    quantity = _number(_("Quantity"))

    FIELDS = ("description", "unit", "unit_cost", "quantity")

    def is_blank(self) -> bool:
        return not any((self.cleaned_data or {}).get(f) for f in self.FIELDS)


class ConfirmReceiptForm(PortalForm):
    received_amount = _amount(_("Amount received (AFN)"))
    received_date = _date(_("Date received (empty: today)"))
    difference_reason = _text(
        _("Reason for any difference from the expected amount"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReportForm(PortalForm):
    period_start = _date(_("Period start"))
    period_end = _date(_("Period end"))
    reached_women = _number(_("Women reached"))
    reached_girls = _number(_("Girls reached"))
    reached_men = _number(_("Men reached"))
    reached_boys = _number(_("Boys reached"))
    households = _number(_("Households"))
    narrative = _text(_("What was delivered"), widget=forms.Textarea(attrs={"rows": 4}))
    amount_spent = _amount(_("Amount spent"))
    final = forms.BooleanField(label=_("This is the final report"), required=False)
    evidence = forms.FileField(
        label=_("Evidence file (photo, receipt, list)"), required=False, allow_empty_file=True
    )

    def __init__(self, *args, line_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.line_items = list(line_items)
        for item in self.line_items:
            self.fields[f"item_{item.pk}"] = _number(item.description)

    def item_fields(self):
        return [self[f"item_{item.pk}"] for item in self.line_items]


class InvitationForm(PortalForm):
    email = _text(_("Email"), widget=forms.EmailInput)
    role = _text(_("Role"), widget=forms.Select(choices=list(labels.ROLE.items())))


class ApiKeyForm(PortalForm):
    name = _text(_("Name"), max_length=50)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        required=False,
        choices=[(s, s) for s in sorted(ALL_SCOPES)],
        widget=forms.CheckboxSelectMultiple,
    )
    expires_at = _date(_("Expires on (optional)"))
