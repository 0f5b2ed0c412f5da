from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.core.money import money_str
from apps.demo.world import DEMO_PASSWORD, PEOPLE, build_world


class Command(BaseCommand):
    help = "Create a small demo world (donors, verified Afghan-led groups); print tokens."

    def add_arguments(self, parser):
        parser.add_argument(
            "--env-file",
            default=str(Path(settings.VAR_DIR) / "demo.env"),
            help="Where to write the tokens and ids as shell variables (default var/demo.env).",
        )

    def handle(self, *args, env_file: str, **options):
        world = build_world()
        out = self.stdout
        out.write(self.style.SUCCESS("Demo world ready."))
        out.write(f"Every demo account's password: {DEMO_PASSWORD}")
        out.write("Bearer tokens (valid 30 days):")
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
        lines = [f"{h.upper()}_TOKEN={t}" for h, t in world.tokens.items()]
        lines += [f"{h.upper()}_ORG={o.id}" for h, o in world.organizations.items()]
        lines += [f"{h.upper()}_NEED={n.id}" for h, n in world.needs.items()]
        env_file.write_text("\n".join(lines) + "\n")
        env_file.chmod(0o600)
        out.write(f"Wrote these to {env_file} (for the README's curl examples: source it).")
        out.write("Try:")
        out.write(
            f'  curl -s -H "Authorization: Bearer {world.tokens["donor"]}" '
            "http://127.0.0.1:8000/api/v1/organizations/"
        )
