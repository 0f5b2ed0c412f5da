"""The whole story over HTTP, against a running AidMatch (./scripts/run) with its demo world.

The girls' school network in Herat posts a need and a verifier opens it → a donor pledges for it
→ matching proposes → the donor commits → sends a hawala tranche with a fee → the school network
confirms receipt in AFN and files a report → the donor reads the trace. Each run tells a new
story (a need and a pledge of its own), so it can be run again and again. Then run
`manage.py reconcile` to see the ledger agree.

    .venv/bin/python scripts/story.py [--base-url http://127.0.0.1:8000] [--env var/demo.env]

The API is the one at --base-url, else $API, else API= in the env file (seed_demo writes it),
else http://127.0.0.1:8000/api/v1. On a failure it prints the problem's detail and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

DEFAULT_API = "http://127.0.0.1:8000/api/v1"


class Stop(Exception):
    """The story cannot go on: why, in a line or a few."""


def load_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def explain(status: int, body) -> str:
    """A problem body (RFC 9457) in words: status, title, detail and each field's errors."""
    if not isinstance(body, dict):
        return f"{status}: {str(body)[:500]}"
    detail = body.get("detail") or "(no detail)"
    lines = [f"{status} {body.get('title') or ''}: {detail}"]
    for field, messages in (body.get("errors") or {}).items():
        shown = "; ".join(messages) if isinstance(messages, list) else str(messages)
        if f"{field}: {shown}" != detail:  # the detail already names the first field's error
            lines.append(f"  {field}: {shown}")
    return "\n".join(lines)


class Api:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(self, token: str, method: str, path: str, body=None, *, idempotent=False):
        """The JSON body of a 2xx answer; any other answer (or none) stops the story."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if idempotent:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        url = f"{self.base}{path}"
        request = Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urlopen(request, timeout=60) as response:  # noqa: S310 (the URL is the user's)
                return json.loads(response.read() or b"null")
        except HTTPError as error:
            raw = error.read()
            try:
                answer = json.loads(raw or b"null")
            except ValueError:
                answer = raw.decode(errors="replace")
            raise Stop(f"{method} {url} answered {explain(error.code, answer)}") from None
        except (URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise Stop(
                f"{method} {url}: {reason}. Is ./scripts/run serving there? "
                "(say where with --base-url, $API or API= in the env file)"
            ) from None


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def show(shown: dict) -> None:
    print(json.dumps(shown, indent=2, ensure_ascii=False), flush=True)


def api_base(args: argparse.Namespace, env: dict[str, str]) -> str:
    if args.base_url:
        return args.base_url.rstrip("/") + "/api/v1"
    return os.environ.get("API") or env.get("API") or DEFAULT_API


def story(api: Api, env: dict[str, str], amount: str) -> None:
    donor, school, verifier = env["DONOR_TOKEN"], env["SCHOOL_ADMIN_TOKEN"], env["VERIFIER_TOKEN"]
    run = datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    today = date.today()

    step("1. The school network posts a need; a verifier approves it")
    need = api.call(
        school,
        "POST",
        "/needs/",
        {
            "organization": env.get("SCHOOL_ORG"),
            "title": f"Teacher stipends and books for a home school, one term ({run})",
            "description": "Three teachers and books for 45 girls in grades 7 to 9.",
            "sector": "education",
            "province": "AF32",
            "currency": "AFN",
            "urgency": 4,
            "deadline": str(today + timedelta(days=60)),
            "beneficiaries_women": 3,
            "beneficiaries_girls": 45,
            "location_detail": "(confidential)",
            "line_items": [
                {"description": "Teacher stipend, month", "unit_cost": "7000.00", "quantity": 12},
                {"description": "Book set", "unit_cost": "900.00", "quantity": 45},
            ],
        },
        idempotent=True,
    )
    api.call(school, "POST", f"/needs/{need['id']}/submit")
    need = api.call(verifier, "POST", f"/needs/{need['id']}/approve")
    show({k: need.get(k) for k in ("id", "title", "status", "amount", "currency")})

    step(f"2. The donor pledges {amount} USD for it")
    pledge = api.call(
        donor,
        "POST",
        "/pledges/",
        {
            "amount": amount,
            "currency": "USD",
            "earmark_sectors": ["education"],
            "earmark_provinces": ["AF32"],
            "earmark_need": need["id"],
            "public_message": "For the girls of Herat",
        },
        idempotent=True,
    )
    show(pledge)

    step("3. Matching proposed it (the donor sees why)")
    proposal = wait_for_proposal(api, donor, pledge["id"])
    show({k: proposal.get(k) for k in ("id", "status", "amount", "need_amount", "need_currency",
                                       "rate", "organization", "explanation")})  # fmt: skip

    step("4. The donor commits")
    committed = api.call(donor, "POST", f"/allocations/{proposal['id']}/commit")
    show({"status": committed["status"]})

    owed = proposal["amount"]
    fee = (Decimal(owed) * Decimal("0.04")).quantize(Decimal("0.01"), ROUND_DOWN)
    step(f"5. The donor schedules a hawala tranche of {owed} USD with a {fee} USD fee")
    tranche = api.call(
        donor,
        "POST",
        "/disbursements/",
        {
            "allocations": [proposal["id"]],
            "amount": owed,
            "currency": "USD",
            "channel": "hawala",
            "provider": "Herat hawaladar",
            "reference": f"HWL-{run}",
            "fee_amount": str(fee),
        },
        idempotent=True,
    )
    show({k: tranche.get(k) for k in ("id", "status", "amount", "currency", "fee_amount")})

    step("6. … and marks it sent")
    sent = api.call(donor, "POST", f"/disbursements/{tranche['id']}/mark-sent", {})
    show({"status": sent["status"]})

    # The hawaladar kept its fee: 96% of what the need was to get arrives.
    received = Decimal(proposal["need_amount"]) * Decimal("0.96")
    received = str(received.quantize(Decimal("0.01"), ROUND_DOWN))
    step(f"7. The school network confirms receipt of {received} AFN")
    receipt = api.call(
        school,
        "POST",
        f"/disbursements/{tranche['id']}/confirm-receipt",
        {"received_amount": received, "received_currency": "AFN"},
        idempotent=True,
    )
    show({k: receipt.get(k) for k in ("status", "received_amount", "received_currency")})

    step("8. The school network reports")
    report = api.call(
        school,
        "POST",
        "/reports/",
        {
            "need": need["id"],
            "period_start": str(today - timedelta(days=28)),
            "period_end": str(today),
            "reached_women": 3,
            "reached_girls": 45,
            "households": 40,
            "narrative": "Three teachers paid for the month; 45 girls in grades 7 to 9 taught.",
            "amount_spent": received,
            "final": False,
        },
        idempotent=True,
    )
    show({"id": report.get("id")})

    step("9. The donor reads the trace of the pledge")
    show(api.call(donor, "GET", f"/pledges/{pledge['id']}/trace"))


def wait_for_proposal(api: Api, donor: str, pledge_id: str, timeout: float = 60) -> dict:
    """The pledge's proposal: at once on the embedded default, within seconds with a worker."""
    deadline = time.monotonic() + timeout
    while True:
        proposals = api.call(donor, "GET", f"/allocations/?pledge={pledge_id}")["results"]
        if proposals:
            return proposals[0]
        if time.monotonic() > deadline:
            raise Stop(f"no proposal for pledge {pledge_id} after {timeout:g} s: is a worker up?")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="where the API is served, e.g. http://127.0.0.1:8011")
    parser.add_argument(
        "--env",
        default=str(Path(__file__).resolve().parents[1] / "var/demo.env"),
        help="the tokens and API= written by seed_demo (default var/demo.env)",
    )
    parser.add_argument("--amount", default="1000.00", help="the pledge, in USD")
    args = parser.parse_args()
    try:
        env = load_env(Path(args.env))
    except OSError as error:
        print(
            f"stopped: cannot read {args.env} ({error.strerror}); run ./scripts/run first",
            file=sys.stderr,
        )
        return 1
    api = Api(api_base(args, env))
    try:
        story(api, env, args.amount)
    except Stop as stop:
        print(f"\nstopped: {stop}", file=sys.stderr)
        return 1
    print("\nNow: .venv/bin/python manage.py reconcile  (the ledger agrees with every total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
