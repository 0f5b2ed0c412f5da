"""Faults and load: the service under concurrent traffic while workers, Redis and database
connections are killed, then the money, audit, idempotency and webhook invariants checked.

    .venv/bin/python bench/chaos.py --short                 # 75 s of traffic (CI: scripts/test)
    .venv/bin/python bench/chaos.py --minutes 20 [--seed 7]  # the long run
    .venv/bin/python bench/chaos.py --seconds 120 --keep-logs

Everything runs on loopback and is this run's own: a database (``aidmatch_chaos_<pid>`` on the
PostgreSQL at 127.0.0.1:5432, created, migrated, dropped at the end), a ``redis-server`` on a
free port (no persistence), two gunicorn servers (``config.settings.local`` with DEBUG off, 2
sync workers each), one Celery worker per queue (``settings.CELERY_QUEUE_NAMES`` when set, else
the default queue; ``matching`` at concurrency 1, the others prefork with 2 processes) and a
webhook receiver thread that checks each request's Standard Webhooks signature and records
the event ids (it can be made slow).

Traffic (threads with httpx, each request to either server): organization admins and donors
register and sign in; admins register organizations (a verifier verifies them), post needs
with line items, submit them (the verifier approves), edit them with If-Match (a stale ETag now
and then: 412), confirm receipt of tranches and file reports; donors pledge with an
Idempotency-Key (retried with the same key, sometimes twice at once), commit or decline their
proposals, schedule and send tranches, reduce and withdraw pledges. A verifier's webhook
endpoint hears every event.

Faults, at random (``--seed``): SIGKILL of a worker's pool process, SIGKILL of a whole worker
(restarted), a Redis restart, ``pg_terminate_backend`` of every connection to the database, a
slow webhook receiver. A fault's window runs from its start to its recovery plus
``GRACE_SECONDS``; a 5xx (or no answer) is allowed only inside a window.

At the end (workers drained, bounded waits): ``manage.py reconcile`` finds no difference; no
pledge or need has more allocated than its amount; each Idempotency-Key made one pledge and every
2xx answer for it (and a replay after the faults) is the same; ``manage.py audit_verify`` finds
the chain intact; every event committed after the endpoint was created reached the receiver
with a valid signature. One table on stdout; exit 1 when a check fails or a 5xx came outside a
fault window. Progress on stderr every ~10 s. Every process and the database are removed at the
end, also on Ctrl-C (logs are kept with ``--keep-logs``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import recreate_database  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent
GRACE_SECONDS = 5.0
PASSWORD = "chaos-Pass-2026!"  # noqa: S105 (a throwaway database's users)
SECTORS = ["food_security", "education", "health", "shelter_nfi", "wash"]
PROVINCES = ["AF01", "AF02", "AF10", "AF17", "AF32"]


def say(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …: comm may hold spaces, so split after its closing bracket
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


# --- Processes ----------------------------------------------------------------------------------


class Procs:
    """Every process this run starts, each in its own session (killed as a group)."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.named: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, list[str]] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.named[name] = proc
        self.commands[name] = command
        return proc

    def restart(self, name: str) -> subprocess.Popen:
        return self.start(name, self.commands[name])

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        proc = self.named[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.named.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.named.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            # the group too: a worker's pool processes outlive a SIGKILLed parent
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_until(predicate, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def http_up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


# --- The webhook receiver -----------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.secret = ""
        self.ids: set[str] = set()
        self.requests = 0
        self.bad_signatures = 0
        self.bad_reasons: list[str] = []  # why each bad signature failed (the first few)
        self.truncated = 0  # bodies cut short: the sender died mid-request (a killed worker)
        self.slow_until = 0.0
        self.slow_seconds = (1.0, 4.5)
        self.rng = random.Random(0)
        self.lock = threading.Lock()

    def serve(self) -> ThreadingHTTPServer:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the connection closed mid-body: the sender was killed
                    with receiver.lock:
                        receiver.requests += 1
                        receiver.truncated += 1
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                reason = ""
                try:
                    Webhook(receiver.secret).verify(body, headers)
                except (WebhookVerificationError, ValueError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                ok = not reason
                with receiver.lock:
                    receiver.requests += 1
                    if ok:
                        receiver.ids.add(headers.get("webhook-id", ""))
                    else:
                        receiver.bad_signatures += 1
                        if len(receiver.bad_reasons) < 3:
                            receiver.bad_reasons.append(
                                f"{reason} (id {headers.get('webhook-id')}, "
                                f"timestamp {headers.get('webhook-timestamp')}, "
                                f"received {int(time.time())}, {len(body)} bytes)"
                            )
                    slow = time.monotonic() < receiver.slow_until
                    pause = receiver.rng.uniform(*receiver.slow_seconds) if slow else 0
                if pause:
                    time.sleep(pause)  # over WEBHOOKS_TIMEOUT_SECONDS now and then: a retry
                self.send_response(204 if ok else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


# --- Traffic ------------------------------------------------------------------------------------


@dataclass
class Stats:
    rows: list = field(default_factory=list)  # (label, status, t0, t1)
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: dict = field(default_factory=dict)  # a 5xx's body per label

    def add(self, label: str, status: int, t0: float, t1: float, text: str = "") -> None:
        with self.lock:
            self.rows.append((label, status, t0, t1))
            if status >= 500 or status == 0:
                self.samples.setdefault(label, f"{status} {text[:300]}")


@dataclass
class Shared:
    verifier: str = ""
    ports: tuple = ()
    stats: Stats = field(default_factory=Stats)
    stop: threading.Event = field(default_factory=threading.Event)
    open_needs: list = field(default_factory=list)  # need ids approved
    org_admins: dict = field(default_factory=dict)  # organization id -> admin's token
    receipts: dict = field(default_factory=lambda: defaultdict(list))  # org id -> tranches
    keys: dict = field(default_factory=dict)  # pledge key -> {"token", "body", "answers"}
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    def __init__(self, shared: Shared, rng: random.Random) -> None:
        self.shared = shared
        self.rng = rng
        self.http = httpx.Client(timeout=30)

    def call(self, label, token, method, path, body=None, *, key=None, if_match=None):
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        if if_match:
            headers["If-Match"] = if_match
        port = self.rng.choice(self.shared.ports)
        url = f"http://127.0.0.1:{port}/api/v1{path}"
        t0 = time.time()
        try:
            response = self.http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as error:
            self.shared.stats.add(label, 0, t0, time.time(), repr(error))
            return 0, None, {}
        self.shared.stats.add(label, response.status_code, t0, time.time(), response.text)
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        return response.status_code, data, response.headers

    def sign_up(self, label: str) -> str:
        email = f"{label}-{uuid.uuid4().hex[:10]}@example.org"
        while not self.shared.stop.is_set():
            status, _, _ = self.call(
                "auth/register",
                None,
                "POST",
                "/auth/register",
                {"email": email, "password": PASSWORD, "full_name": label},
            )
            if status in (201, 400):  # 400: registered by an earlier try whose answer was lost
                break
            time.sleep(0.5)
        while not self.shared.stop.is_set():
            status, data, _ = self.call(
                "auth/token", None, "POST", "/auth/token", {"email": email, "password": PASSWORD}
            )
            if status == 201:
                return data["token"]
            time.sleep(0.5)
        return ""


def organization_actor(shared: Shared, seed: int, n: int) -> None:
    rng = random.Random(seed)
    c = Client(shared, rng)
    token = c.sign_up(f"org-admin-{n}")
    org = None
    while org is None and not shared.stop.is_set():
        status, data, _ = c.call(
            "organizations POST",
            token,
            "POST",
            "/organizations/",
            {
                "name": f"Chaos relief group {n}",
                "kind": "women_led",
                "afghan_led": True,
                "registration_number": f"MoEc-{9000 + n}",
                "registry": "Ministry of Economy",
                "province": PROVINCES[n % len(PROVINCES)],
                "contact_email": f"group{n}@example.org",
                "principals": [{"name": f"Director {n}", "role": "director"}],
            },
            key=f"org-{seed}-{n}",
        )
        if status in (200, 201):
            org = data["id"]
        else:
            time.sleep(0.5)
    while not shared.stop.is_set():
        status, _, _ = c.call(
            "organizations verify",
            shared.verifier,
            "POST",
            f"/organizations/{org}/verify",
            {"reason": "Registration checked."},
        )
        if status in (200, 409):  # 409: verified by an earlier try whose answer was lost
            break
        time.sleep(0.5)
    with shared.lock:
        shared.org_admins[org] = token
    mine: list[str] = []
    while not shared.stop.is_set():
        roll = rng.random()
        with shared.lock:
            pending = shared.receipts[org][:]
            shared.receipts[org].clear()
        for tranche in pending:
            confirm_and_report(c, token, tranche)
        if roll < 0.55 or not mine:
            need = post_need(c, shared, token, org, rng)
            if need:
                mine.append(need)
        else:
            edit_need(c, token, rng.choice(mine), rng)
        time.sleep(rng.uniform(0.2, 0.8))


def post_need(c: Client, shared: Shared, token: str, org: str, rng: random.Random):
    key = str(uuid.uuid4())
    body = {
        "organization": org,
        "title": f"Supplies for families, {uuid.uuid4().hex[:6]}",
        "description": "Flour, oil and blankets.",
        "sector": rng.choice(SECTORS),
        "province": rng.choice(PROVINCES),
        "currency": "USD",
        "urgency": rng.randint(1, 5),
        "deadline": str(date.today() + timedelta(days=60)),
        "beneficiaries_women": 5,
        "line_items": [
            {"description": "Flour, 50 kg", "unit_cost": "30.00", "quantity": rng.randint(2, 20)},
            {"description": "Blanket", "unit_cost": "12.50", "quantity": rng.randint(1, 30)},
        ],
    }
    for _ in range(3):  # retried with the same key: one need
        status, data, _ = c.call("needs POST", token, "POST", "/needs/", body, key=key)
        if status in (200, 201):
            break
        time.sleep(0.3)
    else:
        return None
    need = data["id"]
    for _ in range(3):
        status, _, _ = c.call("needs submit", token, "POST", f"/needs/{need}/submit")
        if status in (200, 409):
            break
    for _ in range(3):
        status, _, _ = c.call("needs approve", shared.verifier, "POST", f"/needs/{need}/approve")
        if status in (200, 409):
            break
    if status == 200:
        with shared.lock:
            shared.open_needs.append(need)
    return need


def edit_need(c: Client, token: str, need: str, rng: random.Random) -> None:
    status, _, headers = c.call("needs GET", token, "GET", f"/needs/{need}")
    if status != 200:
        return
    etag = headers.get("ETag", "")
    stale = rng.random() < 0.2
    c.call(
        "needs PATCH (If-Match)" if not stale else "needs PATCH (stale)",
        token,
        "PATCH",
        f"/needs/{need}",
        {"urgency": rng.randint(1, 5)} if rng.random() < 0.5 else {"description": "Updated."},
        if_match='"0"' if stale else etag,
    )


def confirm_and_report(c: Client, token: str, tranche: dict) -> None:
    key = str(uuid.uuid4())
    for _ in range(3):
        status, _, _ = c.call(
            "disbursements confirm-receipt",
            token,
            "POST",
            f"/disbursements/{tranche['id']}/confirm-receipt",
            {"received_amount": tranche["need_amount"], "received_currency": "USD"},
            key=key,
        )
        if status < 500 and status:
            break
        time.sleep(0.3)
    if status != 200:
        return
    today = date.today()
    c.call(
        "reports POST",
        token,
        "POST",
        "/reports/",
        {
            "need": tranche["need"],
            "period_start": str(today - timedelta(days=7)),
            "period_end": str(today),
            "reached_women": 5,
            "households": 3,
            "narrative": "Delivered.",
            "amount_spent": tranche["need_amount"],
            "final": False,
        },
        key=str(uuid.uuid4()),
    )


def pledge(c: Client, shared: Shared, token: str, rng: random.Random) -> None:
    body = {"amount": f"{rng.randint(20, 400)}.00", "currency": "USD"}
    with shared.lock:
        needs = shared.open_needs[-30:]
    roll = rng.random()
    if roll < 0.3 and needs:
        body["earmark_need"] = rng.choice(needs)
    elif roll < 0.6:
        body["earmark_sectors"] = rng.sample(SECTORS, 2)
    key = str(uuid.uuid4())
    record = {"token": token, "body": body, "answers": []}
    with shared.lock:
        shared.keys[key] = record

    def send():
        status, data, _ = c2.call("pledges POST", token, "POST", "/pledges/", body, key=key)
        with shared.lock:
            record["answers"].append((status, data))

    c2 = c
    twin = rng.random() < 0.15
    if twin:  # two at once with the same key: one pledge, the same answer
        other = Client(shared, random.Random(rng.random()))
        thread = threading.Thread(target=lambda: _twin(other, shared, token, body, key, record))
        thread.start()
    send()
    if twin:
        thread.join()
        other.http.close()
    if rng.random() < 0.25 or not any(200 <= s < 300 for s, _ in record["answers"]):
        send()


def _twin(c: Client, shared: Shared, token, body, key, record) -> None:
    status, data, _ = c.call("pledges POST (twin)", token, "POST", "/pledges/", body, key=key)
    with shared.lock:
        record["answers"].append((status, data))


def donor_actor(shared: Shared, seed: int, n: int) -> None:
    rng = random.Random(seed)
    c = Client(shared, rng)
    token = c.sign_up(f"donor-{n}")
    tranched: set[str] = set()
    while not shared.stop.is_set():
        roll = rng.random()
        if roll < 0.4:
            pledge(c, shared, token, rng)
        elif roll < 0.7:
            status, data, _ = c.call(
                "allocations GET", token, "GET", "/allocations/?status=proposed&page_size=20"
            )
            for allocation in (data or {}).get("results", []) if status == 200 else []:
                action = "commit" if rng.random() < 0.75 else "decline"
                key = str(uuid.uuid4())
                for _ in range(1 + (rng.random() < 0.2)):  # a retry with the same key
                    c.call(
                        f"allocations {action}",
                        token,
                        "POST",
                        f"/allocations/{allocation['id']}/{action}",
                        key=key,
                    )
        elif roll < 0.9:
            status, data, _ = c.call(
                "allocations GET", token, "GET", "/allocations/?status=committed&page_size=10"
            )
            for allocation in (data or {}).get("results", []) if status == 200 else []:
                if allocation["id"] not in tranched:
                    tranched.add(allocation["id"])
                    send_tranche(c, shared, token, allocation)
        else:
            status, data, _ = c.call("pledges GET", token, "GET", "/pledges/?page_size=20")
            pledges = (data or {}).get("results", []) if status == 200 else []
            if pledges:
                chosen = rng.choice(pledges)
                if rng.random() < 0.5:
                    c.call(
                        "pledges withdraw",
                        token,
                        "POST",
                        f"/pledges/{chosen['id']}/withdraw",
                        key=str(uuid.uuid4()),
                    )
                else:
                    c.call(
                        "pledges PATCH (reduce)",
                        token,
                        "PATCH",
                        f"/pledges/{chosen['id']}",
                        {"amount": "10.00"},
                    )
        time.sleep(rng.uniform(0.1, 0.5))


def send_tranche(c: Client, shared: Shared, token: str, allocation: dict) -> None:
    key = str(uuid.uuid4())
    for _ in range(3):
        status, data, _ = c.call(
            "disbursements POST",
            token,
            "POST",
            "/disbursements/",
            {
                "allocations": [allocation["id"]],
                "amount": allocation["amount"],
                "currency": "USD",
                "channel": "bank",
                "provider": "Chaos Bank",
                "reference": f"CB-{key[:8]}",
            },
            key=key,
        )
        if status and status < 500:
            break
        time.sleep(0.3)
    if status != 201:
        return
    status, _, _ = c.call(
        "disbursements mark-sent",
        token,
        "POST",
        f"/disbursements/{data['id']}/mark-sent",
        {},
        key=str(uuid.uuid4()),
    )
    if status == 200:
        with shared.lock:
            shared.receipts[allocation["organization"]].append(
                {
                    "id": data["id"],
                    "need": allocation["need"],
                    "need_amount": allocation["need_amount"],
                }
            )


# --- Faults -------------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    start: float
    end: float = 0.0
    note: str = ""


class Injector:
    KINDS = ("kill pool child", "kill worker", "restart redis", "terminate db connections",
             "slow webhooks")  # fmt: skip

    def __init__(self, args, procs: Procs, workers: list[str], redis_cmd, receiver, db_url):
        self.rng = random.Random(args.seed * 7919 + 1)
        self.args = args
        self.procs = procs
        self.workers = workers
        self.redis_cmd = redis_cmd
        self.redis_port = int(redis_cmd[redis_cmd.index("--port") + 1])
        self.receiver = receiver
        self.db_url = db_url
        self.faults: list[Fault] = []
        self.stop = threading.Event()
        self.errors: list[str] = []

    def windows(self) -> list[tuple[float, float]]:
        now = time.time()
        return [(f.start, (f.end or now) + GRACE_SECONDS) for f in self.faults]

    def run(self) -> None:
        try:
            self.stop.wait(self.rng.uniform(3, 6))
            kinds = list(self.KINDS)
            self.rng.shuffle(kinds)  # each kind once before any repeats
            while not self.stop.is_set():
                kind = kinds.pop() if kinds else self.rng.choice(self.KINDS)
                fault = Fault(kind, time.time())
                self.faults.append(fault)
                say(f"fault: {kind}")
                getattr(self, "_" + kind.replace(" ", "_"))(fault)
                fault.end = fault.end or time.time()
                self.stop.wait(self.rng.uniform(*self.args.fault_gap))
        except Exception as error:
            self.errors.append(repr(error))
            say(f"fault injector failed: {error!r}")

    def _kill_pool_child(self, fault: Fault) -> None:
        name = self.rng.choice(self.workers)
        proc = self.procs.named[name]
        kids = children_of(proc.pid)
        if kids:
            pid = self.rng.choice(kids)
            os.kill(pid, signal.SIGKILL)
            fault.note = f"{name} child {pid}"
        else:
            fault.note = f"{name}: no child"
        # the pool starts a new process at once
        wait_until(lambda: len(children_of(proc.pid)) >= len(kids), 30)

    def _kill_worker(self, fault: Fault) -> None:
        name = self.rng.choice(self.workers)
        self.procs.kill(name)
        fault.note = name
        self.stop.wait(self.rng.uniform(1, 4))
        proc = self.procs.restart(name)
        wait_until(lambda: len(children_of(proc.pid)) >= 1, 60)

    def _restart_redis(self, fault: Fault) -> None:
        self.procs.kill("redis")
        self.stop.wait(self.rng.uniform(1, 4))
        self.procs.restart("redis")
        if not wait_until(lambda: redis_ping(self.redis_port), 30):
            raise RuntimeError("redis did not come back")

    def _terminate_db_connections(self, fault: Fault) -> None:
        import psycopg2

        conn = psycopg2.connect(self.db_url)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            fault.note = f"{cursor.fetchone()[0]} connections"
        conn.close()

    def _slow_webhooks(self, fault: Fault) -> None:
        seconds = self.rng.uniform(6, 12)
        self.receiver.slow_until = time.monotonic() + seconds
        fault.note = f"{seconds:.0f} s"
        self.stop.wait(seconds)

    def heal(self) -> None:
        """Everything up again: Redis answers and every worker runs."""
        if not redis_ping(self.redis_port):
            self.procs.restart("redis")
            wait_until(lambda: redis_ping(self.redis_port), 30)
        for name in self.workers:
            if self.procs.named[name].poll() is not None:
                self.procs.restart(name)
        self.receiver.slow_until = 0.0


# --- Checks -------------------------------------------------------------------------------------


def sql(db_url: str, query: str, params=()) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()
    finally:
        conn.close()


OVER_ALLOCATED = """
SELECT 'pledge ' || p.id::text, p.amount, sum(a.amount) FROM pledges_pledge p
JOIN matching_allocation a ON a.pledge_id = p.id
WHERE a.status IN ('proposed', 'committed', 'disbursing', 'disbursed')
GROUP BY p.id, p.amount HAVING sum(a.amount) > p.amount
UNION ALL
SELECT 'need ' || n.id::text, n.amount, sum(a.need_amount) FROM needs_need n
JOIN matching_allocation a ON a.need_id = n.id
WHERE a.status IN ('proposed', 'committed', 'disbursing', 'disbursed')
GROUP BY n.id, n.amount HAVING sum(a.need_amount) > n.amount
"""

UNDELIVERED = """
SELECT 'evt_' || replace(e.uid::text, '-', ''), e.type, coalesce(d.status, 'no delivery')
FROM events_event e
LEFT JOIN webhooks_delivery d ON d.event_id = e.id AND d.endpoint_id = %s
WHERE e.id > %s AND e.type <> 'webhook.test'
"""


def manage(env: dict, *command: str) -> tuple[int, str]:
    out = subprocess.run(
        [PY, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True
    )
    return out.returncode, (out.stdout.strip() or out.stderr.strip() or "(no output)")


def drain(db_url: str, endpoint: str, first_event: int, receiver: Receiver, timeout: float):
    """Wait until every event since the endpoint arrived; the ids still missing."""

    def missing() -> list[tuple]:
        rows = sql(db_url, UNDELIVERED, (endpoint, first_event))
        with receiver.lock:
            return [r for r in rows if r[0] not in receiver.ids]

    deadline = time.monotonic() + timeout
    left = missing()
    while left and time.monotonic() < deadline:
        time.sleep(1)
        left = missing()
    return left


# --- Main ---------------------------------------------------------------------------------------

SETUP = r"""
import json
import django
django.setup()
from django.conf import settings
from aidmatch.access import PlatformRole
from apps.accounts.models import User
from apps.accounts.services import token_create
user = User.objects.create_user("verifier@chaos.example.org", None, full_name="Chaos Verifier",
                                platform_role=PlatformRole.VERIFIER)
_, token = token_create(user=user)
queues = getattr(settings, "CELERY_QUEUE_NAMES", (settings.CELERY_TASK_DEFAULT_QUEUE,))
print(json.dumps({"token": token, "queues": list(queues)}))
"""


def build_env(db_url: str, redis_port: int) -> dict[str, str]:
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=db_url,
        DATABASE_CONN_MAX_AGE="60",
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        THROTTLE_RATE_CALLER="100000000/min",
        THROTTLE_RATE_ANON="100000000/min",
        THROTTLE_RATE_AUTH="100000000/min",
        LOGIN_FAILURE_LIMIT="100000",
        WEBHOOKS_ALLOW_HTTP="true",
        WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="true",
        # Short enough that a delivery cut by a fault is retried within the run
        WEBHOOKS_RETRY_SCHEDULE="1,2,3,5,5,5,5,5,5,5,5,5",
        WEBHOOKS_TIMEOUT_SECONDS="3",
        WEBHOOKS_LEASE_SECONDS="5",
        MATCHING_DEBOUNCE_SECONDS="1",
        MATCHING_RUN_LEASE_SECONDS="10",
        MATCHING_SWEEP_SECONDS="5",
        CELERY_UNACKED_RESTORE_INTERVAL="5",
        CELERY_VISIBILITY_TIMEOUT="60",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    return env


_STAMPED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ (\w+) (\S+) (.*)$")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Detected|Failure|Timeout)\w*: .*")


def server_errors(log_dir: Path) -> list[tuple[float, str, str]]:
    """The API servers' 5xx answers from their logs: (time, what was asked, the exception the
    traceback ended with), so that a 5xx outside a fault window says what it was. A 500's
    traceback follows Django's "Internal Server Error" line; a 503's (apps.core.problems)
    comes just before Django's "Service Unavailable" line."""
    found = []
    for path in sorted(log_dir.glob("gunicorn-*.log")):
        current, pending, collecting = None, "", False
        for line in path.read_text(errors="replace").splitlines():
            stamped = _STAMPED.match(line)
            if stamped:
                if current:
                    found.append(tuple(current))
                    current = None
                stamp, level, logger, text = stamped.groups()
                if level == "ERROR" and logger == "django.request":
                    when = time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S"))
                    internal = text.startswith("Internal Server Error")
                    current = [when, text[:100], "" if internal else pending]
                    pending = ""
                collecting = level == "ERROR" and logger != "django.request"
            elif _EXCEPTION.match(line):
                if current is not None:
                    current[2] = line[:160]  # the last one is the cause
                elif collecting:
                    pending = line[:160]
        if current:
            found.append(tuple(current))
    return sorted(found)


def overlaps(windows: list[tuple[float, float]], t0: float, t1: float) -> bool:
    """Whether [t0, t1] meets one of the fault windows (``Injector.windows``)."""
    return any(t0 <= end and t1 >= start for start, end in windows)


def table(stats: Stats, injector: Injector, checks: list[tuple[str, bool, str]]) -> tuple:
    windows = injector.windows()
    by_label: dict[str, Counter] = defaultdict(Counter)
    outside = inside_count = 0
    outside_rows = []
    for label, status, t0, t1 in stats.rows:
        c = by_label[label]
        c["count"] += 1
        c["2xx" if 200 <= status < 300 else "4xx" if 400 <= status < 500 else "5xx"] += 1
        if status >= 500 or status == 0:
            if overlaps(windows, t0, t1):
                inside_count += 1
            else:
                outside += 1
                outside_rows.append((label, status, t0, t1))
    lines = [f"{'requests':<32} {'count':>7} {'2xx':>7} {'4xx':>7} {'5xx/none':>9}"]
    total = Counter()
    for label in sorted(by_label):
        c = by_label[label]
        total.update(c)
        lines.append(f"{label:<32} {c['count']:>7} {c['2xx']:>7} {c['4xx']:>7} {c['5xx']:>9}")
    lines.append(
        f"{'all':<32} {total['count']:>7} {total['2xx']:>7} {total['4xx']:>7} {total['5xx']:>9}"
    )
    kinds = Counter(f.kind for f in injector.faults)
    lines.append("")
    lines.append(f"{'faults injected':<32} {sum(kinds.values()):>7}")
    for kind in Injector.KINDS:
        lines.append(f"  {kind:<30} {kinds[kind]:>7}")
    lines.append("")
    lines.append(f"{'5xx/none inside fault windows':<32} {inside_count:>7}")
    lines.append(f"{'5xx/none outside fault windows':<32} {outside:>7}")
    for label, status, t0, _ in outside_rows[:10]:
        lines.append(f"  {time.strftime('%H:%M:%S', time.localtime(t0))} {label} -> {status}")
    lines.append("")
    for name, ok, detail in checks:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}")
    return "\n".join(lines), outside


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=None, help="of traffic")
    parser.add_argument("--minutes", type=float, default=None, help="of traffic")
    parser.add_argument("--short", action="store_true", help="75 s of traffic (CI)")
    parser.add_argument("--donors", type=int, default=5, help="donor threads")
    parser.add_argument("--organizations", type=int, default=3, help="organization threads")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    seconds = args.seconds or (args.minutes * 60 if args.minutes else None) or 75.0
    if args.short:
        seconds = 75.0
    args.fault_gap = (6.0, 10.0) if seconds <= 120 else (8.0, 20.0)
    drain_seconds = 60.0 if seconds <= 120 else 180.0

    db_name = f"aidmatch_chaos_{os.getpid()}"
    db_url = f"postgres://postgres@127.0.0.1:5432/{db_name}"
    redis_port = free_port()
    env = build_env(db_url, redis_port)
    log_dir = Path(tempfile.mkdtemp(prefix="aidmatch_chaos_"))
    procs = Procs(log_dir, env)
    receiver = Receiver()
    server = None
    injector = None
    shared = Shared()
    threads: list[threading.Thread] = []
    created_db = False
    ok = False
    began = time.monotonic()

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        say(f"seed {args.seed}, {seconds:g} s of traffic; logs in {log_dir}")
        say(f"database {db_name}, redis-server on port {redis_port}")
        recreate_database(db_url)
        created_db = True
        redis_cmd = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no"]  # fmt: skip
        procs.start("redis", redis_cmd)
        subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        if not wait_until(lambda: redis_ping(redis_port), 20):
            raise SystemExit("redis-server did not start")
        out = subprocess.run(
            [PY, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        setup = json.loads(out.stdout.strip().splitlines()[-1])
        shared.verifier = setup["token"]

        ports = (free_port(), free_port())
        shared.ports = ports
        for i, port in enumerate(ports):
            procs.start(
                f"gunicorn-{i}",
                [str(BIN / "gunicorn"), "--workers", "2", "--log-level", "warning",
                 "--timeout", "60", "--bind", f"127.0.0.1:{port}", "config.wsgi"],
            )  # fmt: skip
        workers = []
        for queue in setup["queues"]:
            name = f"worker-{queue}"
            workers.append(name)
            procs.start(
                name,
                [str(BIN / "celery"), "-A", "config.celery_app", "worker", "-Q", queue,
                 "--pool", "prefork", "--concurrency", "1" if queue == "matching" else "2",
                 "--loglevel", "WARNING", "--without-mingle", "--without-gossip",
                 "-n", f"chaos-{queue}-{os.getpid()}@%h"],
            )  # fmt: skip
        for port in ports:
            if not wait_until(lambda p=port: http_up(p), 60):
                raise SystemExit(f"gunicorn on {port} did not start; see {log_dir}")
        say(f"gunicorn on {ports[0]} and {ports[1]}; workers for {', '.join(setup['queues'])}")

        server = receiver.serve()
        hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        status, data, _ = Client(shared, random.Random(0)).call(
            "webhook-endpoints POST",
            shared.verifier,
            "POST",
            "/webhook-endpoints/",
            {"url": hook_url, "description": "chaos receiver"},
            key=str(uuid.uuid4()),
        )
        if status != 201:
            raise SystemExit(f"creating the webhook endpoint answered {status}: {data}")
        receiver.secret = data["secret"]
        endpoint = data["id"]
        first_event = sql(db_url, "SELECT coalesce(max(id), 0) FROM events_event")[0][0]

        injector = Injector(args, procs, workers, redis_cmd, receiver, db_url)
        rng = random.Random(args.seed)
        for n in range(args.organizations):
            threads.append(
                threading.Thread(
                    target=organization_actor, args=(shared, rng.randrange(1 << 30), n)
                )
            )
        for n in range(args.donors):
            threads.append(
                threading.Thread(target=donor_actor, args=(shared, rng.randrange(1 << 30), n))
            )
        for thread in threads:
            thread.daemon = True
            thread.start()
        fault_thread = threading.Thread(target=injector.run, daemon=True)
        fault_thread.start()
        traffic_began = time.monotonic()
        next_progress = traffic_began + 10
        while time.monotonic() - traffic_began < seconds:
            time.sleep(0.5)
            if time.monotonic() >= next_progress:
                next_progress += 10
                with shared.stats.lock:
                    rows = list(shared.stats.rows)
                bad = sum(1 for r in rows if r[1] >= 500 or r[1] == 0)
                say(
                    f"{time.monotonic() - traffic_began:4.0f} s: {len(rows)} requests, "
                    f"{bad} 5xx/none, {len(injector.faults)} faults, "
                    f"{len(receiver.ids)} webhooks, load {os.getloadavg()[0]:.1f}"
                )
        say("traffic stops; faults stop; healing")
        injector.stop.set()
        fault_thread.join(timeout=90)
        shared.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        injector.heal()

        # A replay of every pledge key after the faults: the same answer, no new pledge
        say(f"replaying {len(shared.keys)} Idempotency-Keys")
        replayer = Client(shared, random.Random(1))
        for key, record in shared.keys.items():
            for _ in range(5):
                status, data, _ = replayer.call(
                    "pledges POST (replay)",
                    record["token"],
                    "POST",
                    "/pledges/",
                    record["body"],
                    key=key,
                )
                if status and status < 500:
                    break
                time.sleep(1)
            record["replay"] = (status, data)

        checks: list[tuple[str, bool, str]] = []
        checks.append(("fault injector ran", not injector.errors, "; ".join(injector.errors)))
        bad_keys, pledge_ids, refused = [], set(), 0
        for key, record in shared.keys.items():
            answers = [(s, d) for s, d in record["answers"] if 200 <= s < 300]
            status, data = record["replay"]
            if 400 <= status < 500 and not answers:
                refused += 1  # refused every time (e.g. its need was funded): no pledge
                continue
            if not 200 <= status < 300:
                bad_keys.append(f"{key}: replay answered {status} {str(data)[:200]}")
                continue
            if any(d != data for _, d in answers):
                bad_keys.append(f"{key}: answers differ")
            pledge_ids.add(data["id"])
        in_db = {
            str(r[0])
            for r in sql(
                db_url,
                "SELECT p.id FROM pledges_pledge p JOIN accounts_user u ON u.id = p.donor_id "
                "WHERE u.email LIKE 'donor-%%'",
            )
        }
        extra = in_db - pledge_ids
        checks.append(
            (
                "each Idempotency-Key made one pledge, every answer the same",
                not bad_keys and not extra and len(pledge_ids) == len(shared.keys) - refused,
                f"{len(shared.keys)} keys ({refused} refused), {len(pledge_ids)} pledges, "
                f"{len(in_db)} in the database"
                + (f"; {bad_keys[:3]}" if bad_keys else "")
                + (f"; {len(extra)} pledge(s) without a key" if extra else ""),
            )
        )

        say("draining: every event to the receiver")
        left = drain(db_url, endpoint, first_event, receiver, drain_seconds)
        total_events = sql(
            db_url,
            "SELECT count(*) FROM events_event WHERE id > %s AND type <> 'webhook.test'",
            (first_event,),
        )[0][0]
        checks.append(
            (
                "every committed event delivered to the webhook receiver",
                not left and total_events > 0,
                f"{total_events} events, {total_events - len(left)} delivered, "
                f"{receiver.requests} requests ({receiver.truncated} cut short by a killed "
                f"sender), {receiver.bad_signatures} bad signatures"
                + (f"; missing e.g. {left[:3]}" if left else ""),
            )
        )
        checks.append(
            (
                "every webhook signature valid",
                receiver.bad_signatures == 0,
                "; ".join(receiver.bad_reasons),
            )
        )

        # Matching may still write its last proposals: wait for no running run (bounded)
        wait_until(
            lambda: (
                not sql(
                    db_url, "SELECT 1 FROM matching_matchrun WHERE status IN ('queued', 'running')"
                )
            ),
            60,
            1,
        )
        code, text = manage(env, "reconcile", "--no-record")
        checks.append(("reconcile: 0 differences", code == 0, text.splitlines()[-1][:200]))
        over = sql(db_url, OVER_ALLOCATED)
        counts = sql(
            db_url,
            "SELECT count(*), count(*) FILTER (WHERE status IN ('committed', 'disbursing', "
            "'disbursed')) FROM matching_allocation",
        )[0]
        checks.append(
            (
                "no allocation sum over its pledge or need",
                not over,
                f"{counts[0]} allocations, {counts[1]} committed"
                + (f"; over: {over[:3]}" if over else ""),
            )
        )
        code, text = manage(env, "audit_verify")
        checks.append(("audit_verify: chain intact", code == 0, text.splitlines()[-1][:200]))

        report, outside = table(shared.stats, injector, checks)
        print(
            f"bench/chaos.py  seed {args.seed}, {seconds:g} s of traffic, "
            f"{args.donors} donor and {args.organizations} organization threads, "
            f"{time.monotonic() - began:.0f} s in all, load {os.getloadavg()[0]:.1f}"
        )
        print(report)
        if shared.stats.samples:
            print("\nfirst 5xx/none answer per request type:")
            for label, sample in sorted(shared.stats.samples.items()):
                print(f"  {label}: {sample}")
        errors = server_errors(log_dir)
        if errors:
            windows = injector.windows()
            print("\nthe API servers' errors (from their logs; * = outside every fault window):")
            for when, asked, exception in errors[:40]:
                # a log line's time is whole seconds: a second's slack either side
                mark = " " if overlaps(windows, when - 1, when + 1) else "*"
                stamp = time.strftime("%H:%M:%S", time.localtime(when))
                print(f" {mark}{stamp} {asked}\n     {exception or '(no exception line)'}")
        ok = outside == 0 and all(c[1] for c in checks)
        print(f"\n{'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        shared.stop.set()
        if injector:
            injector.stop.set()
        procs.stop_all()
        if server:
            server.shutdown()
        if created_db:
            try:
                import psycopg2

                admin = psycopg2.connect(db_url.replace(f"/{db_name}", "/postgres"))
                admin.autocommit = True
                with admin.cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                admin.close()
            except Exception as error:
                say(f"could not drop {db_name}: {error}")
        if args.keep_logs or not ok:
            say(f"logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
