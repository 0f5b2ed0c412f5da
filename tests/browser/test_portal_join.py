"""Joining an organization from a phone, in Dari, in a real browser (360 px): the emailed link,
the invitation's page, creating an account, accepting, the dashboard. Every page: dir/lang, no
serious or critical axe-core violation, under 100 KB transferred."""

import re

import pytest
from django.core import mail
from django.db import transaction
from django.utils import translation
from selenium.webdriver.common.by import By

from aidmatch.access import MemberRole
from apps.organizations.invitations import invitation_create
from apps.organizations.models import Invitation, Membership
from tests.browser.test_portal_cycle import Pages
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

INVITEE = "zarghuna.ahmadi@ngo.example.org"


def test_an_invitee_joins_in_dari_on_a_phone(
    browser, live_server, axe, page_weight, admin_x, org_x
):
    pages = Pages(browser, live_server.url, axe, page_weight)
    mail.outbox.clear()
    # The admin works in Dari (the email is in Dari); the email goes on commit.
    with translation.override("fa"), transaction.atomic():
        invitation_create(actor=admin_x, organization=org_x, email=INVITEE, role=MemberRole.STAFF)
    (message,) = mail.outbox
    link = re.search(r"http://\S+(/portal/invitation\?token=\S+)", message.body).group(1)

    # The emailed link: the page in Dari, the token gone from the address.
    pages.open(link)
    assert browser.current_url == f"{live_server.url}/portal/invitation"
    text = pages.text()
    assert "دعوت‌نامه" in text and org_x.public_name() in text and "کارمند" in text

    pages.click(By.LINK_TEXT, "ساختن حساب")
    text = pages.check()
    assert "رمز عبور" in text
    pages.fill("full_name", "Zarghuna Ahmadi")
    pages.fill("email", INVITEE)
    pages.fill("password", PASSWORD)
    pages.submit()
    assert browser.current_url == f"{live_server.url}/portal/invitation"
    assert INVITEE in pages.check()

    pages.click(By.CSS_SELECTOR, "main form.stack button[type=submit]")  # accept and join
    text = pages.check()
    assert browser.current_url == f"{live_server.url}/portal/"
    assert "داشبورد" in text and "شما به" in text
    membership = Membership.objects.get(user__email=INVITEE)
    assert (membership.organization_id, membership.role) == (org_x.pk, "staff")
    assert Invitation.objects.get().status == "accepted"
    assert all(weight < 100 * 1024 for weight in pages.weights.values()), pages.weights
