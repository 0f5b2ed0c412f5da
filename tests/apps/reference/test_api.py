"""Reference data: loaded by a migration, read-only for anyone."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_34_provinces_with_their_p_codes(anon):
    body = anon.get("/api/v1/reference/provinces/").json()

    assert len(body) == 34
    assert body[0] == {"pcode": "AF01", "name": "Kabul"}
    assert body[-1] == {"pcode": "AF34", "name": "Nimroz"}


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


def test_reference_data_cannot_be_written(donor_client):
    response = donor_client.post("/api/v1/reference/provinces/", {"pcode": "AF35"}, format="json")

    assert response.status_code == 405
