"""Load provinces, districts, sectors and currencies from apps/reference/data/*.csv.

Reads the CSV files directly (data migrations never import app code) and upserts, so running it
again after a data correction is safe.
"""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name):
    with open(DATA / name, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def load(apps, schema_editor):
    Province = apps.get_model("reference", "Province")
    District = apps.get_model("reference", "District")
    Sector = apps.get_model("reference", "Sector")
    Currency = apps.get_model("reference", "Currency")
    for row in _rows("provinces.csv"):
        Province.objects.update_or_create(pcode=row["pcode"], defaults={"name": row["name_en"]})
    for row in _rows("districts.csv"):
        District.objects.update_or_create(
            pcode=row["pcode"],
            defaults={"name": row["name_en"], "province_id": row["province_pcode"]},
        )
    for row in _rows("sectors.csv"):
        Sector.objects.update_or_create(
            code=row["code"],
            defaults={"name": row["name"], "dac5_codes": row["dac5_codes"].split()},
        )
    for row in _rows("currencies.csv"):
        Currency.objects.update_or_create(
            code=row["code"],
            defaults={"name": row["name"], "minor_unit": int(row["minor_unit"])},
        )


class Migration(migrations.Migration):
    dependencies = [("reference", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
