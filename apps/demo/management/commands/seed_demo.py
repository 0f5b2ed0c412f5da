import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from knox.settings import knox_settings

from apps.core.money import money_str
from apps.demo.world import DEMO_PASSWORD, PEOPLE, build_world


def base_url_from_env() -> str:
    """Where scripts/run serves: http://$HOST:$PORT (default 127.0.0.1:8000); a server listening
    on every address (0.0.0.0, ::) is reached on loopback."""
    host = os.environ.get("HOST") or "127.0.0.1"
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 (mapped away)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{os.environ.get('PORT') or '8000'}"


class Command(BaseCommand):
    help = "Create a small demo world (donors, verified Afghan-led groups); print tokens."

    def add_arguments(self, parser):
        parser.add_argument(
            "--env-file",
            default=str(Path(settings.VAR_DIR) / "demo.env"),
            help="Where to write the tokens and ids as shell variables (default var/demo.env).",
        )
        parser.add_argument(
            "--base-url",
            default=None,
            help="Where the API is served, for the printed examples and API= in the env file "
            "(default http://$HOST:$PORT, as scripts/run serves: http://127.0.0.1:8000).",
        )

    def handle(self, *args, env_file: str, base_url: str | None, **options):
        base_url = (base_url or base_url_from_env()).rstrip("/")
        api = f"{base_url}/api/v1"
        out = self.stdout
        out.write("Building the demo world (people, organizations, needs, exchange rates)…")
        world = build_world()
        out.write(self.style.SUCCESS("Demo world ready."))
        out.write(f"Every demo account's password: {DEMO_PASSWORD}")
        out.write(f"Bearer tokens ({_validity(knox_settings.TOKEN_TTL)}; TOKEN_TTL_DAYS):")
        for handle, token in world.tokens.items():
            out.write(f"  {handle:<13} {PEOPLE[handle][0]:<32} {token}")
        out.write("Organizations:")
        for handle, org in world.organizations.items():
            out.write(f"  {handle:<13} {org.id}  {org.name} (sensitive={org.sensitive})")
        out.write("Open needs:")
        for handle, need in world.needs.items():
            amount = money_str(need.amount, need.currency.minor_unit)
            out.write(f"  {handle:<13} {need.id}  {amount} {need.currency_id}  {need.title}")
        env_file = Path(env_file)
        env_file.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"BASE_URL={base_url}", f"API={api}"]
        lines += [f"{h.upper()}_TOKEN={t}" for h, t in world.tokens.items()]
        lines += [f"{h.upper()}_ORG={o.id}" for h, o in world.organizations.items()]
        lines += [f"{h.upper()}_NEED={n.id}" for h, n in world.needs.items()]
        env_file.write_text("\n".join(lines) + "\n")
        env_file.chmod(0o600)
        out.write(f"Wrote these and API={api} to {env_file} (source it for the README's calls).")
        out.write("Try:")
        out.write(
            f'  curl -s -H "Authorization: Bearer {world.tokens["donor"]}" {api}/organizations/'
        )


def _validity(ttl: timedelta | None) -> str:
    """How long the tokens just made stay valid: "valid 7 days, until 2026-12-06 19:52 UTC"."""
    if ttl is None:
        return "valid until revoked"
    seconds = int(ttl.total_seconds())
    days, rest = divmod(seconds, 86400)
    length = f"{days} day{'s' * (days != 1)}" if not rest else f"{seconds / 3600:g} hours"
    until = timezone.localtime(timezone.now() + ttl).strftime("%Y-%m-%d %H:%M %Z")
    return f"valid {length}, until {until}"
