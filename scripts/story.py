"""The whole story over HTTP, against a running AidMatch (./scripts/run) with its demo world:

a donor pledges for girls' education in Herat → matching proposes → the donor commits → sends a
hawala tranche with a fee → the school network confirms receipt in AFN and files a report →
the donor reads the trace. Then run `manage.py reconcile` to see the ledger agree.

    .venv/bin/python scripts/story.py [--api http://127.0.0.1:8000/api/v1] [--env var/demo.env]
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen


def load_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


class Api:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(self, token: str, method: str, path: str, body=None, *, key: str | None = None):
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        request = Request(f"{self.base}{path}", data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urlopen(request, timeout=60) as response:  # noqa: S310 (the URL is the user's)
                return response.status, json.loads(response.read() or b"null")
        except HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def step(title: str, status: int, shown: dict | str) -> None:
    print(f"\n== {title}  [{status}]")
    print(shown if isinstance(shown, str) else json.dumps(shown, indent=2, ensure_ascii=False))
    if status >= 400:
        sys.exit(f"stopped: {title} answered {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000/api/v1")
    parser.add_argument("--env", default=str(Path(__file__).resolve().parents[1] / "var/demo.env"))
    args = parser.parse_args()
    env, api = load_env(Path(args.env)), Api(args.api)
    donor, school = env["DONOR_TOKEN"], env["SCHOOL_ADMIN_TOKEN"]

    status, pledge = api.call(
        donor,
        "POST",
        "/pledges/",
        {
            "amount": "1000.00",
            "currency": "USD",
            "earmark_sectors": ["education"],
            "earmark_provinces": ["AF32"],
            "public_message": "For the girls of Herat",
        },
        key=str(uuid.uuid4()),
    )
    step("1. The donor pledges 1000.00 USD for education in Herat", status, pledge)

    status, page = api.call(donor, "GET", f"/allocations/?pledge={pledge['id']}")
    (proposal,) = page["results"]
    step(
        "2. Matching proposed it (the donor sees why)",
        status,
        {k: proposal[k] for k in ("id", "status", "amount", "need_amount", "need_currency",
                                  "rate", "organization", "explanation")},
    )  # fmt: skip

    status, committed = api.call(donor, "POST", f"/allocations/{proposal['id']}/commit")
    step("3. The donor commits", status, {"status": committed["status"]})

    status, tranche = api.call(
        donor,
        "POST",
        "/disbursements/",
        {
            "allocations": [proposal["id"]],
            "amount": "1000.00",
            "currency": "USD",
            "channel": "hawala",
            "provider": "Herat hawaladar",
            "reference": "HWL-2026-118",
            "fee_amount": "40.00",
        },
        key=str(uuid.uuid4()),
    )
    step(
        "4. The donor schedules a hawala tranche with a 40.00 USD fee",
        status,
        {k: tranche.get(k) for k in ("id", "status", "amount", "currency", "fee_amount")},
    )
    status, sent = api.call(donor, "POST", f"/disbursements/{tranche['id']}/mark-sent", {})
    step("5. … and marks it sent", status, {"status": sent["status"]})

    received = f"{float(proposal['need_amount']) * 0.96:.2f}"  # the hawaladar kept its fee
    status, receipt = api.call(
        school,
        "POST",
        f"/disbursements/{tranche['id']}/confirm-receipt",
        {"received_amount": received, "received_currency": "AFN"},
        key=str(uuid.uuid4()),
    )
    step(
        f"6. The school network confirms receipt of {received} AFN",
        status,
        {k: receipt.get(k) for k in ("status", "received_amount", "received_currency")},
    )

    today = date.today()
    status, report = api.call(
        school,
        "POST",
        "/reports/",
        {
            "need": proposal["need"],
            "period_start": str(today - timedelta(days=28)),
            "period_end": str(today),
            "reached_women": 3,
            "reached_girls": 45,
            "households": 40,
            "narrative": "Three teachers paid for the month; 45 girls in grades 7 to 9 taught.",
            "amount_spent": received,
            "final": False,
        },
    )
    step("7. The school network reports", status, {"id": report.get("id")})

    status, trace = api.call(donor, "GET", f"/pledges/{pledge['id']}/trace")
    step("8. The donor reads the trace of the pledge", status, trace)
    print("\nNow: .venv/bin/python manage.py reconcile  (the ledger agrees with every total)")


if __name__ == "__main__":
    main()
