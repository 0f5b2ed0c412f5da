"""Load all 401 districts (ADM2) of Afghanistan from apps/reference/data/districts.csv.

0002 shipped only two of them. This is the same upsert (safe to run again); it reads the CSV
directly, as data migrations never import app code.
"""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"


def load_districts(apps, schema_editor):
    District = apps.get_model("reference", "District")
    with open(DATA / "districts.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            District.objects.update_or_create(
                pcode=row["pcode"],
                defaults={"name": row["name_en"], "province_id": row["province_pcode"]},
            )


class Migration(migrations.Migration):
    dependencies = [("reference", "0002_load_reference_data")]

    operations = [migrations.RunPython(load_districts, migrations.RunPython.noop)]
