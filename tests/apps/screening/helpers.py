"""Loading the sample lists the way an operator does: manage.py load_sanctions."""

import io
from pathlib import Path

from django.core.management import call_command

DATA = Path(__file__).resolve().parent / "data"
UN = DATA / "un_sample.xml"
SDN = DATA / "sdn.csv"
ALT = DATA / "alt.csv"
EU = DATA / "eu_sample.xml"
UK = DATA / "uk_sample.csv"


def load(source="un", path=UN, *extra) -> str:
    out = io.StringIO()
    call_command("load_sanctions", "--source", source, str(path), *extra, stdout=out)
    return out.getvalue()


def load_samples() -> None:
    load("un", UN)
    load("ofac", SDN, "--alt", str(ALT), "--list-version", "2026-10-02")
