"""Reference data: loaded by a migration, read-only for anyone."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_34_provinces_with_their_p_codes(anon):
    body = anon.get("/api/v1/reference/provinces/").json()

    assert len(body) == 34
    assert body[0] == {"pcode": "AF01", "name": "Kabul", "name_dari": "کابل", "name_pashto": "کابل"}
    assert body[-1] == {
        "pcode": "AF34",
        "name": "Nimroz",
        "name_dari": "نیمروز",
        "name_pashto": "نیمروز",
    }


# Where Pashto writes a province's name with its own letters (ګ ړ ډ ې ي), or otherwise.
PASHTO_DIFFERS = {
    "AF04": ("Maidan Wardak", "میدان وردک", "میدان وردګ"),
    "AF05": ("Logar", "لوگر", "لوګر"),
    "AF06": ("Nangarhar", "ننگرهار", "ننګرهار"),
    "AF08": ("Panjsher", "پنجشیر", "پنجشېر"),
    "AF11": ("Ghazni", "غزنی", "غزني"),
    "AF15": ("Kunar", "کنر", "کونړ"),
    "AF20": ("Samangan", "سمنگان", "سمنګان"),
    "AF24": ("Daykundi", "دایکندی", "دایکنډي"),
    "AF25": ("Uruzgan", "ارزگان", "ارزګان"),
}


@pytest.mark.parametrize("language", ["en", "fa", "ps"])
def test_every_province_has_its_dari_and_pashto_names_whatever_the_language(anon, language):
    body = anon.get("/api/v1/reference/provinces/", HTTP_ACCEPT_LANGUAGE=language).json()

    provinces = {p["pcode"]: p for p in body}
    assert len(provinces) == 34
    for province in provinces.values():
        assert province["name"].isascii()  # the English name stays English
        for local in (province["name_dari"], province["name_pashto"]):
            assert local and not any("a" <= ch.lower() <= "z" for ch in local)
    for pcode, names in PASHTO_DIFFERS.items():
        shown = provinces[pcode]
        assert (shown["name"], shown["name_dari"], shown["name_pashto"]) == names
    assert provinces["AF13"]["name_dari"] == provinces["AF13"]["name_pashto"] == "پکتیا"
    same = [p for p in provinces.values() if p["name_dari"] == p["name_pashto"]]
    assert len(same) == 34 - len(PASHTO_DIFFERS)
    one = anon.get("/api/v1/reference/provinces/AF16/", HTTP_ACCEPT_LANGUAGE=language).json()
    assert one == {
        "pcode": "AF16",
        "name": "Nuristan",
        "name_dari": "نورستان",
        "name_pashto": "نورستان",
    }


def test_the_401_districts_with_their_p_codes(anon):
    districts = anon.get("/api/v1/reference/districts/").json()

    assert len(districts) == 401
    assert len({d["pcode"] for d in districts}) == 401
    names = {d["pcode"]: d["name"] for d in districts}
    assert (names["AF0101"], names["AF0102"], names["AF1701"]) == ("Kabul", "Paghman", "Fayzabad")
    assert (names["AF3201"], names["AF3405"]) == ("Hirat", "Khashrod")
    # every province has districts, and nothing else does
    assert {d["province"] for d in districts} == {f"AF{n:02d}" for n in range(1, 35)}


def test_every_district_sits_in_its_province(anon):
    districts = anon.get("/api/v1/reference/districts/").json()

    assert districts
    assert all(d["pcode"].startswith(d["province"]) for d in districts)
    kabul = anon.get("/api/v1/reference/districts/", {"province": "AF01"}).json()
    assert {d["province"] for d in kabul} == {"AF01"}


def test_an_unknown_province_filter_is_a_400(anon):
    response = anon.get("/api/v1/reference/districts/", {"province": "AF99"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_currencies_carry_their_minor_units(anon):
    units = {c["code"]: c["minor_unit"] for c in anon.get("/api/v1/reference/currencies/").json()}

    assert (units["AFN"], units["USD"], units["JPY"], units["KWD"]) == (2, 2, 0, 3)


def test_sectors_with_dac5_codes(anon):
    sectors = {s["code"]: s for s in anon.get("/api/v1/reference/sectors/").json()}

    assert "72040" in sectors["food_security"]["dac5_codes"]
    assert sectors["education"]["name"] == "Education"


def test_every_sector_has_its_dari_and_pashto_names(anon):
    sectors = {s["code"]: s for s in anon.get("/api/v1/reference/sectors/").json()}

    assert len(sectors) == 14
    for sector in sectors.values():
        assert sector["name_dari"] and sector["name_pashto"]
        assert not sector["name_dari"].isascii() and not sector["name_pashto"].isascii()
    education = sectors["education"]
    assert (education["name_dari"], education["name_pashto"]) == ("معارف", "ښوونه او روزنه")
    assert sectors["health"]["name_pashto"] == "روغتیا"


def test_reference_data_cannot_be_written(donor_client):
    response = donor_client.post("/api/v1/reference/provinces/", {"pcode": "AF35"}, format="json")

    assert response.status_code == 405


def test_a_province_s_and_a_sector_s_name_in_a_language_for_pages_and_emails():
    from django.utils import translation

    from apps.reference.models import Province, Sector

    nangarhar, wash = Province.objects.get(pk="AF06"), Sector.objects.get(pk="wash")
    assert [nangarhar.local_name(code) for code in ("en", "fa", "ps", "fa-AF")] == [
        "Nangarhar",
        "ننگرهار",
        "ننګرهار",
        "ننگرهار",
    ]
    with translation.override("ps"):
        assert wash.local_name() == "اوبه، چاپېریالي روغتیا او حفظ الصحه"
    wash.name_pashto = ""
    assert wash.local_name("ps") == "Water, Sanitation and Hygiene"  # none: English
