"""The provinces' and sectors' names in Dari and Pashto, from apps/reference/data/*.csv.

Reads the CSV files directly (data migrations never import app code) and sets only the two new
names, so an existing database gets them and nothing else changes.
"""

import csv
from pathlib import Path

from django.db import migrations, models

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name):
    with open(DATA / name, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def load_names(apps, schema_editor):
    Province = apps.get_model("reference", "Province")
    Sector = apps.get_model("reference", "Sector")
    for model, file, key in ((Province, "provinces.csv", "pcode"), (Sector, "sectors.csv", "code")):
        for row in _rows(file):
            model.objects.filter(pk=row[key]).update(
                name_dari=row["name_dari"], name_pashto=row["name_pashto"]
            )


class Migration(migrations.Migration):
    dependencies = [
        ("reference", "0003_load_all_districts"),
    ]

    operations = [
        migrations.AddField(
            model_name="province",
            name="name_dari",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="province",
            name="name_pashto",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="sector",
            name="name_dari",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="sector",
            name="name_pashto",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.RunPython(load_names, migrations.RunPython.noop),
    ]
