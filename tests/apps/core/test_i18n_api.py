"""The API answers in English, Dari or Pashto, chosen by Accept-Language; machine fields stay
English. (scripts/test compiles the catalogs before pytest runs.)"""

import uuid
from decimal import Decimal

import pytest
from django.utils import translation
from rest_framework import exceptions

from apps.core.problems import problem_exception_handler
from apps.needs.models import Need
from apps.organizations.models import OrganizationKind
from tests.apps.needs.test_api import FOOD_NEED
from tests.conftest import client_for
from tests.factories import NeedFactory, PledgeFactory, propose

pytestmark = pytest.mark.django_db

NOT_FOUND = {"en": "Not found.", "fa": "پیدا نشد.", "ps": "ونه موندل شو."}


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [
        ("fa", "fa"),
        ("fa-AF", "fa"),
        ("prs", "fa"),
        ("prs-AF,en;q=0.5", "fa"),
        ("ps", "ps"),
        ("ps-AF", "ps"),
        ("pbt", "ps"),
        ("pbt-AF", "ps"),
        ("en", "en"),
        ("en-GB", "en"),
        ("de-DE,sw;q=0.8", "en"),
        ("", "en"),
    ],
)
def test_accept_language_chooses_english_dari_or_pashto(anon, accept_language, language):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}

    response = anon.get(f"/api/v1/needs/{uuid.uuid4()}", **headers)

    assert response.status_code == 404
    assert response.json()["detail"] == NOT_FOUND[language]
    assert response.json()["code"] == "not_found"
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]


@pytest.mark.parametrize(
    ("language", "title", "detail"),
    [
        (
            "en",
            "Transition not allowed from the current state",
            "A need in state 'draft' cannot become 'open'.",
        ),
        (
            "fa",
            "تغییر از وضعیت فعلی مجاز نیست",
            "نیازمندی در وضعیت «draft» نمی‌تواند به «open» تغییر کند.",
        ),
        (
            "ps",
            "له اوسني حالت څخه دا بدلون روا نه دی",
            "اړتیا چې په «draft» حالت کې وي «open» ته نشي بدلېدای.",
        ),
    ],
)
def test_a_409_invalid_transition_in_each_language(verifier_client, language, title, detail):
    need = NeedFactory(status="draft")

    response = verifier_client.post(
        f"/api/v1/needs/{need.pk}/approve", HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 409
    body = response.json()
    assert (body["title"], body["detail"]) == (title, detail)
    assert body["code"] == "invalid_transition"  # machine fields stay English
    assert body["type"] == "https://aidmatch.org/problems/invalid-transition"
    need.refresh_from_db()
    assert need.status == "draft"


def test_a_422_rule_places_its_values_in_the_translation(verifier_client):
    need = NeedFactory(status="submitted", organization__status="pending")

    fa = verifier_client.post(f"/api/v1/needs/{need.pk}/approve", HTTP_ACCEPT_LANGUAGE="fa-AF")
    ps = verifier_client.post(f"/api/v1/needs/{need.pk}/approve", HTTP_ACCEPT_LANGUAGE="ps")

    assert fa.status_code == ps.status_code == 422
    assert fa.json()["code"] == ps.json()["code"] == "rule_violation"
    assert fa.json()["title"] == "درخواست یک قاعده را نقض می‌کند"
    assert fa.json()["detail"] == (
        "تنها نیازمندی‌های موسسه‌های تصدیق‌شده تأیید می‌شوند؛ این موسسه در وضعیت «pending» است."
    )
    assert ps.json()["title"] == "غوښتنه یو قاعده ماتوي"
    assert ps.json()["detail"] == (
        "یوازې د تایید شویو موسسو اړتیاوې تاییدېدای شي؛ دا موسسه په «pending» حالت کې ده."
    )


def test_a_domain_errors_field_messages_are_translated_with_their_values(org_x, staff_x):
    need = NeedFactory(organization=org_x, amount=Decimal("1000.00"))
    allocation = propose(PledgeFactory(amount=Decimal("1000.00")), need, Decimal("600.00"))
    from apps.matching.services.allocations import allocation_commit

    allocation_commit(allocation_id=allocation.pk)
    client = client_for(staff_x)

    response = client.patch(
        f"/api/v1/needs/{need.pk}", {"amount": "599.99"}, format="json", HTTP_ACCEPT_LANGUAGE="ps"
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "state_conflict"
    assert body["detail"].startswith("اندازه له هغو ") and "600" in body["detail"]
    assert list(body["errors"]) == ["amount"]  # the field's name stays English
    [message] = body["errors"]["amount"]
    assert message.startswith("باید لږ تر لږه ") and "600" in message
    need.refresh_from_db()
    assert need.amount == Decimal("1000.00")


def test_a_validation_error_in_dari_and_pashto_keeps_field_names_and_values(org_x, staff_x):
    client = client_for(staff_x)
    body = {k: v for k, v in FOOD_NEED.items() if k not in ("title", "line_items")}
    body.update(amount="100.00", urgency="very")

    answers = {
        language: client.post("/api/v1/needs/", body, format="json", HTTP_ACCEPT_LANGUAGE=language)
        for language in ("en", "fa", "ps")
    }

    for response in answers.values():
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert set(response.json()["errors"]) == {"title", "urgency"}
    en, fa, ps = (answers[lang].json() for lang in ("en", "fa", "ps"))
    assert en["errors"]["title"] == ["This field is required."]
    assert fa["errors"]["title"] == ["این خانه ضروری است."]
    assert ps["errors"]["title"] == ["دا خانه اړینه ده."]
    assert fa["errors"]["urgency"] == ["یک عدد صحیح درست لازم است."]
    assert ps["errors"]["urgency"] == ["یوه سمه بشپړه شمېره اړینه ده."]
    assert (fa["title"], ps["title"]) == ("ورودی نادرست", "ناسم معلومات")
    # The summary names the field as the client sent it, then the translated message.
    assert ps["detail"].split(": ", 1)[0] in ps["errors"]
    assert not Need.objects.exists()


def test_an_invalid_choice_names_the_value_sent(org_x, staff_x):
    body = {k: v for k, v in FOOD_NEED.items() if k != "line_items"} | {"amount": "100.00"}

    response = client_for(staff_x).post(
        "/api/v1/needs/", {**body, "currency": "XYZ"}, format="json", HTTP_ACCEPT_LANGUAGE="ps"
    )

    assert response.status_code == 400
    [message] = response.json()["errors"]["currency"]
    assert "XYZ" in message and "does not exist" not in message


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        ("en", "Authentication credentials were not provided."),
        ("fa", "معلومات تصدیق هویت داده نشده است."),
        ("ps", "د هویت د تایید معلومات نه دي ورکړل شوي."),
    ],
)
def test_drf_framework_messages_come_in_each_language(anon, language, detail):
    response = anon.post("/api/v1/pledges/", {}, format="json", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 401
    assert response.json()["detail"] == detail
    assert response.json()["code"] == "not_authenticated"


def test_pashto_for_a_bad_token_method_body_and_cursor(anon, donor_client):
    bad_token = client_for()
    bad_token.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    token = bad_token.get("/api/v1/pledges/", HTTP_ACCEPT_LANGUAGE="ps-AF")
    method = donor_client.delete("/api/v1/pledges/", HTTP_ACCEPT_LANGUAGE="ps-AF")
    media = donor_client.post(
        "/api/v1/pledges/", "a=1", content_type="text/plain", HTTP_ACCEPT_LANGUAGE="ps"
    )
    broken = donor_client.post(
        "/api/v1/pledges/", "{", content_type="application/json", HTTP_ACCEPT_LANGUAGE="ps"
    )
    page = donor_client.get("/api/v1/pledges/?cursor=garbage", HTTP_ACCEPT_LANGUAGE="ps")

    assert (token.status_code, token.json()["detail"]) == (401, "ټوکن ناسم دی.")
    assert token.json()["title"] == "هویت نه دی تایید شوی"
    assert (method.status_code, method.json()["detail"]) == (405, 'طریقه "DELETE" روا نه ده.')
    assert media.status_code == 415
    assert media.json()["detail"] == 'په غوښتنه کې د رسنۍ ډول "text/plain" نه منل کېږي.'
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("د JSON په لوستلو کې تېروتنه - ")
    assert (page.status_code, page.json()["detail"]) == (404, "نښه ناسمه ده")


def test_a_throttled_answer_counts_its_seconds_in_pashto():
    with translation.override("ps"):
        response = problem_exception_handler(exceptions.Throttled(wait=3), {})

    assert response.status_code == 429
    assert response.data["title"] == "غوښتنې ډېرې زیاتې دي"
    assert response.data["detail"] == (
        "د غوښتنو شمېر له حد واوښت او غوښتنه محدوده شوه. له 3 ثانیو وروسته بیا شتون لري."
    )
    assert response["Retry-After"] == "3"


def test_an_idempotent_replay_answers_its_stored_body(org_x, staff_x):
    client = client_for(staff_x)
    headers = {"HTTP_IDEMPOTENCY_KEY": "need-i18n-1"}

    first = client.post("/api/v1/needs/", FOOD_NEED, format="json", **headers)
    again = client.post(
        "/api/v1/needs/", FOOD_NEED, format="json", HTTP_ACCEPT_LANGUAGE="ps", **headers
    )

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Need.objects.count() == 1


def test_enum_labels_are_translated_and_values_are_not():
    with translation.override("fa"):
        assert str(OrganizationKind.NGO.label) == "موسسهٔ غیر دولتی"
    with translation.override("ps"):
        assert str(OrganizationKind.SCHOOL_NETWORK.label) == "د ښوونځیو شبکه"
    assert OrganizationKind.SCHOOL_NETWORK.value == "school_network"
