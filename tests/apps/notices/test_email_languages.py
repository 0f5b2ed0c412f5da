"""Every email in its recipient's language (User.language): English, Dari or Pashto, with the
Solar Hijri date and Afghanistan's month names beside the Gregorian one in Dari and Pashto, and
amounts in the locale's digits. Each kind is sent through the path the service uses (the relay,
the periodic task, the API), except the webhook notice, whose failing receiver is another test's.
Recipients of one event who read different languages get one message each, in their own."""

import subprocess
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from aidmatch.access import MemberRole
from aidmatch.events import Audience, EventType
from apps.core.l10n import SOLAR_HIJRI_MONTHS, format_day, solar_hijri
from apps.disbursements.models import Disbursement
from apps.disbursements.tasks import flag_unconfirmed_tranches
from apps.events.relay import relay_pending
from apps.events.services import record_event
from apps.matching.services.allocations import allocation_commit
from apps.pledges import schedules
from apps.pledges.tasks import make_due_scheduled_pledges
from apps.reference.models import Currency
from apps.webhooks.models import OwnerKind, WebhookEndpoint
from apps.webhooks.notifications import notify_disabled
from tests.conftest import client_for
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    propose,
)

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "fa", "ps"]

SUBJECTS = {
    "proposal": {
        "en": "AidMatch: a proposal awaits your commitment",
        "fa": "AidMatch: یک پیشنهاد منتظر قطعی کردن شماست",
        "ps": "AidMatch: یو وړاندیز ستاسو د قطعي کولو په تمه دی",
    },
    "tranche_sent": {
        "en": "AidMatch: a tranche was sent to you",
        "fa": "AidMatch: یک قسط برای شما فرستاده شد",
        "ps": "AidMatch: تاسو ته یو قسط ولېږل شو",
    },
    "schedule_stopped": {
        "en": "AidMatch: your recurring pledge stopped",
        "fa": "AidMatch: تعهد تکراری شما متوقف شد",
        "ps": "AidMatch: ستاسو تکراري ژمنه ودرېده",
    },
    "unconfirmed_organization": {
        "en": "AidMatch: please confirm a tranche sent to you",
        "fa": "AidMatch: لطفاً قسطی را که برای شما فرستاده شده است تأیید کنید",
        "ps": "AidMatch: مهرباني وکړئ هغه قسط تایید کړئ چې تاسو ته لېږل شوی",
    },
    "unconfirmed_donor": {
        "en": "AidMatch: a tranche you sent is not confirmed yet",
        "fa": "AidMatch: قسطی که فرستادید هنوز تأیید نشده است",
        "ps": "AidMatch: هغه قسط چې تاسو لېږلی، لا تایید شوی نه دی",
    },
    "invitation": {
        "en": "AidMatch: an invitation to join Kabul Food Bank",
        "fa": "AidMatch: دعوت‌نامه برای پیوستن به Kabul Food Bank",
        "ps": "AidMatch: له Kabul Food Bank سره د یوځای کېدو بلنه",
    },
    "webhook_disabled": {
        "en": "AidMatch: a webhook endpoint was disabled",
        "fa": "AidMatch: یک نقطه پایانی وب‌هوک غیرفعال شد",
        "ps": "AidMatch: د وېب‌هوک یو پای ټکی غیر فعال شو",
    },
}
EASTERN_250 = "۲۵۰٫۰۰"  # 250.00 as Dari and Pashto write it


def assert_in_language(message, kind: str, language: str, day=None) -> None:
    """The subject is the kind's, in ``language``; a day named in the email is written the
    locale's way (Solar Hijri with Afghanistan's month names first, for Dari and Pashto)."""
    assert message.subject == SUBJECTS[kind][language]
    if language != "en":
        english = SUBJECTS[kind]["en"].removeprefix("AidMatch: ")
        assert english not in message.subject and english not in message.body
        for sentence in ("When the money arrives", "Tranche ", "Your recurring", "You are"):
            assert sentence not in message.body  # no English sentence left
    if day is not None:
        assert format_day(day, language) in message.body
        if language != "en":
            hijri = solar_hijri(day, language)
            assert hijri in message.body
            assert hijri.split()[1] in SOLAR_HIJRI_MONTHS[language]
            assert ("هـ ش" if language == "fa" else "لمریز") in message.body


@pytest.fixture
def relay(django_capture_on_commit_callbacks):
    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return relay_pending()

    return run


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_proposal_is_told_in_the_donor_s_language(language, relay):
    donor = UserFactory(language=language)
    organization = OrganizationFactory(name="Herat Girls' Circle", pseudonym="Q7", sensitive=True)
    need = NeedFactory(organization=organization, title="Books for grade 6")
    allocation = propose(PledgeFactory(donor=donor), need, Decimal("250.00"))
    mail.outbox.clear()
    record_event(
        EventType.ALLOCATION_PROPOSED,
        resource_id=allocation.pk,
        payloads={Audience.DONOR: {"id": str(allocation.pk)}},
        organization_id=organization.pk,
        donor_id=donor.pk,
    )

    relay()

    (message,) = mail.outbox
    assert message.to == [donor.email]
    assert_in_language(message, "proposal", language, allocation.commit_deadline)
    assert str(allocation.pk) in message.body and "Books for grade 6" in message.body
    assert "Q7" in message.body and "Herat" not in message.body  # the pseudonym only
    assert (EASTERN_250 if language != "en" else "$250.00") in message.body


@pytest.fixture
def members_in_three_languages():
    """An organization whose admin reads Dari, whose staff member reads Pashto and whose other
    admin chose no language (English)."""
    organization = OrganizationFactory(name="Kabul Food Bank")
    people = {}
    for language, role in (("fa", MemberRole.ADMIN), ("ps", MemberRole.STAFF), ("", "admin")):
        user = UserFactory(language=language)
        MembershipFactory(organization=organization, user=user, role=role)
        people[language or "en"] = user
    return organization, people


def test_a_tranche_sent_is_told_to_each_member_once_in_their_language(
    members_in_three_languages, donor, donor_client, relay
):
    organization, people = members_in_three_languages
    need = NeedFactory(organization=organization, amount=Decimal("3000.00"))
    pledge = PledgeFactory(donor=donor, amount=Decimal("3000.00"))
    allocation = allocation_commit(allocation_id=propose(pledge, need, Decimal("3000.00")).pk)
    body = {
        "allocations": [str(allocation.pk)],
        "amount": "250.00",
        "currency": "USD",
        "channel": "hawala",
        "reference": "HW-77",
    }
    tranche = donor_client.post("/api/v1/disbursements/", body, format="json").json()
    donor_client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")
    mail.outbox.clear()
    record_event(
        EventType.DISBURSEMENT_SENT,
        resource_id=tranche["id"],
        payloads={Audience.ORGANIZATION: {"id": tranche["id"]}},
        organization_id=organization.pk,
        donor_id=donor.pk,
    )

    relay()

    assert sorted(address for m in mail.outbox for address in m.to) == sorted(
        user.email for user in people.values()
    )
    sent = Disbursement.objects.get(pk=tranche["id"])
    day = sent.value_date or sent.sent_at
    for language, user in people.items():
        (message,) = [m for m in mail.outbox if user.email in m.to]
        assert_in_language(message, "tranche_sent", language, day)
        assert tranche["id"] in message.body and "HW-77" in message.body
    words = {"en": "by hawala", "fa": "از طریق حواله", "ps": "د حوالې له لارې"}
    for language, user in people.items():
        (message,) = [m for m in mail.outbox if user.email in m.to]
        assert words[language] in message.body

    mail.outbox.clear()
    relay()  # told once
    assert mail.outbox == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_stopped_recurring_pledge_is_told_in_the_donor_s_language(
    language, clock, django_capture_on_commit_callbacks
):
    donor = UserFactory(language=language)
    clock("2025-12-31T00:00:00+00:00")
    schedule = schedules.schedule_create(
        donor=donor,
        amount=Decimal("250.00"),
        currency=Currency.objects.get(code="USD"),
        interval="monthly",
        day_of_month=1,
        start_date=timezone.now().date() + timedelta(days=1),
        earmark_sectors=["education"],
        earmark_provinces=["AF01"],
    )
    donor.is_active = False
    donor.save(update_fields=["is_active"])
    clock("2026-01-02T00:00:00+00:00")

    assert make_due_scheduled_pledges.delay().get() == 0
    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()

    (message,) = mail.outbox
    assert message.to == [donor.email]
    assert_in_language(message, "schedule_stopped", language)
    reasons = {
        "en": "the donor's account was deactivated",
        "fa": "حساب کمک‌کننده غیرفعال شد",
        "ps": "د مرسته‌کوونکي حساب غیر فعال شو",
    }
    intervals = {"en": "monthly", "fa": "ماهانه", "ps": "میاشتنی"}
    assert reasons[language] in message.body and intervals[language] in message.body
    assert str(schedule.pk) in message.body


def test_an_unconfirmed_tranche_is_told_to_both_sides_in_their_languages(
    members_in_three_languages, settings
):
    settings.DISBURSEMENT_CONFIRM_DAYS = 14
    organization, people = members_in_three_languages
    donor = UserFactory(language="ps")
    need = NeedFactory(organization=organization, amount=Decimal("3000.00"))
    pledge = PledgeFactory(donor=donor, amount=Decimal("3000.00"))
    allocation = allocation_commit(allocation_id=propose(pledge, need, Decimal("3000.00")).pk)
    body = {
        "allocations": [str(allocation.pk)],
        "amount": "250.00",
        "currency": "USD",
        "channel": "mobile_money",
    }
    client = client_for(donor)
    tranche = client.post("/api/v1/disbursements/", body, format="json").json()
    client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")
    sent_at = timezone.now() - timedelta(days=15)
    Disbursement.objects.filter(pk=tranche["id"]).update(sent_at=sent_at)
    mail.outbox.clear()

    assert flag_unconfirmed_tranches.delay().get() == 1

    for language, user in people.items():
        (message,) = [m for m in mail.outbox if user.email in m.to]
        assert_in_language(message, "unconfirmed_organization", language, sent_at)
    (to_donor,) = [m for m in mail.outbox if donor.email in m.to]
    assert to_donor.to == [donor.email]
    assert_in_language(to_donor, "unconfirmed_donor", "ps", sent_at)
    assert "Kabul Food Bank د ۱۴ ورځو راهیسې" in to_donor.body  # days in Pashto digits
    assert len(mail.outbox) == 4  # one per recipient


@pytest.mark.parametrize(
    ("account_language", "accept_language", "expected"),
    [
        (None, "fa-AF,fa;q=0.9", "fa"),  # no account: the admin's language now
        (None, "ps", "ps"),
        (None, "", "en"),
        ("ps", "fa", "ps"),  # the invitee's account chose Pashto
        ("", "fa", "fa"),  # an account that chose none: the admin's language
    ],
)
def test_an_invitation_is_written_in_the_invitee_s_or_else_the_admin_s_language(
    account_language, accept_language, expected, django_capture_on_commit_callbacks
):
    organization = OrganizationFactory(name="Kabul Food Bank")
    admin = MembershipFactory(organization=organization, role=MemberRole.ADMIN).user
    address = "new.teacher@example.org"
    if account_language is not None:
        UserFactory(email=address, language=account_language)
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(
            f"/api/v1/organizations/{organization.pk}/invitations/",
            {"email": address, "role": "staff"},
            format="json",
            **headers,
        )

    assert response.status_code == 201, response.content
    (message,) = mail.outbox
    assert message.to == [address]
    expires = datetime.fromisoformat(response.json()["expires_at"])
    assert_in_language(message, "invitation", expected, expires)
    assert '{"token": "inv_' in message.body
    roles = {"en": "as a staff member", "fa": "به حیث کارمند", "ps": "د کارکوونکي په توګه"}
    assert roles[expected] in message.body


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_disabled_webhook_endpoint_is_told_in_its_owner_s_language(language):
    owner = UserFactory(language=language)
    failing_since = timezone.now() - timedelta(hours=73)
    endpoint = WebhookEndpoint.objects.create(
        owner_kind=OwnerKind.DONOR,
        user=owner,
        url="https://hooks.example.org/aidmatch",
        enabled=False,
        disabled_reason="Every delivery failed since … (last: 503).",
        failing_since=failing_since,
    )
    mail.outbox.clear()

    assert notify_disabled(endpoint) == 1

    (message,) = mail.outbox
    assert message.to == [owner.email]
    assert_in_language(message, "webhook_disabled", language, failing_since)
    assert str(endpoint.pk) in message.body and "(last: 503)" in message.body


EMAIL_MODULES = [
    "apps/notices/emails.py",
    "apps/notices/services.py",
    "apps/disbursements/notifications.py",
    "apps/organizations/invitations.py",
    "apps/webhooks/notifications.py",
]
KINDS = [
    "proposal_awaits_commitment",
    "tranche_sent",
    "schedule_stopped",
    "tranche_unconfirmed_organization",
    "tranche_unconfirmed_donor",
    "invitation",
    "webhook_disabled",
]
ROOT = Path(__file__).resolve().parents[3]


def test_the_email_texts_live_in_templates_only():
    for module in EMAIL_MODULES:
        source = (ROOT / module).read_text()
        # Domain errors' message ids (gettext_noop, translated by the API) are not email text.
        marked = source.replace("gettext_noop", "")
        assert "gettext" not in marked, module
        if module != "apps/notices/emails.py":  # the one place a message is built
            assert "EmailMessage(" not in source, module
    templates = ROOT / "apps/notices/templates/notices/email"
    for kind in KINDS:
        assert (templates / f"{kind}_subject.txt").exists()
        assert (templates / f"{kind}_body.txt").exists()


@pytest.mark.parametrize("language", ["fa", "ps"])
def test_the_email_catalog_is_complete_and_valid(language):
    po = ROOT / f"apps/notices/locale/{language}/LC_MESSAGES/django.po"
    subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], check=True)
    for flag in ("--untranslated", "--only-fuzzy"):
        left = subprocess.run(
            ["msgattrib", flag, "--no-obsolete", str(po)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert "msgid" not in left, left
