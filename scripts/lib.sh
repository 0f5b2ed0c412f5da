# Shared by scripts/run and scripts/test: a virtual environment and the local services.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

# A step's name, with the seconds since the script started (a first run takes minutes).
say() { printf '\033[1m==> [%4ss] %s\033[0m\n' "$SECONDS" "$*" >&2; }

# _with_includes FILE: FILE, then the requirements files it includes with -r, recursively.
_with_includes() {
  local included
  echo "$1"
  sed -nE 's/^[[:space:]]*(-r|--requirement)[[:space:]=]+([^[:space:]#]+).*/\2/p' "$1" |
    while read -r included; do _with_includes "$(dirname "$1")/$included"; done
}

# _stamp FILE: the marker saying that FILE's pins (with those of the files it includes), as
# they are now, are installed in the .venv. One marker per requirements file, so scripts/run
# and scripts/test never undo each other's.
_stamp() {
  local digest
  digest="$(_with_includes "$1" | while read -r f; do cat "$f"; done | sha256sum | cut -c1-16)"
  echo "$VENV/.installed-$(basename "$1")-$digest"
}

# _mark_installed FILE: FILE is installed, and so is every file it includes.
_mark_installed() {
  local f
  _with_includes "$1" | while read -r f; do
    rm -f "$VENV/.installed-$(basename "$f")-"*
    touch "$(_stamp "$f")"
  done
}

# ensure_venv FILE: a .venv with FILE's pinned packages installed (again only when FILE, or a
# file it includes, changes). requirements-dev.txt includes requirements.txt, so installing it
# also satisfies scripts/run.
ensure_venv() {
  local reqs="$ROOT/$1"
  if [ ! -x "$PY" ]; then
    say "Creating the virtual environment in .venv"
    python3 -m venv "$VENV"
  fi
  if [ ! -f "$(_stamp "$reqs")" ]; then
    say "Installing dependencies from $1"
    "$PY" -m pip install --disable-pip-version-check --upgrade pip
    "$PY" -m pip install --disable-pip-version-check -r "$reqs"
    _mark_installed "$reqs"
    say "Dependencies installed"
  fi
}

_wait_for() {  # _wait_for NAME COMMAND...: up to 30 s
  local name=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  say "$name did not come up"; return 1
}

_apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "Installing $* from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    say "Please install $* (or point DATABASE_URL / REDIS_URL at running servers)"; return 1
  fi
}

# PostgreSQL on 127.0.0.1:5432 (trust auth for the postgres user), started if it is not running.
ensure_postgres() {
  if ! command -v pg_isready >/dev/null && ! command -v pg_ctlcluster >/dev/null; then
    _apt_install postgresql postgresql-client
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "Starting PostgreSQL"
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n1)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    _wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
  fi
}

# Redis on 127.0.0.1:6379, started if it is not running (it keeps nothing on disk).
ensure_redis() {
  command -v redis-server >/dev/null || _apt_install redis-server
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "Starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    _wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
  fi
}

# PgBouncer's program (scripts/test-pgbouncer starts a pgbouncer of its own on a free port; the
# Debian service is left alone).
ensure_pgbouncer() {
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || _apt_install pgbouncer
}

# RabbitMQ on 127.0.0.1:5672 (guest/guest, loopback only), started if it is not running. The
# worker tests run on it too, each test run in a virtual host of its own (tests/integration).
ensure_rabbitmq() {
  command -v rabbitmq-server >/dev/null || _apt_install rabbitmq-server
  if ! (: </dev/tcp/127.0.0.1/5672) 2>/dev/null || ! rabbitmqctl -q status >/dev/null 2>&1; then
    say "Starting RabbitMQ"
    service rabbitmq-server start >/dev/null 2>&1 || rabbitmq-server -detached || true
    _wait_for RabbitMQ rabbitmqctl -q status
    _wait_for "RabbitMQ's port 5672" bash -c ': </dev/tcp/127.0.0.1/5672'
  fi
}

# Headless Chromium and its matching driver from Debian's packages, for the browser tests
# (tests/browser, pytest -m browser): never a browser downloaded by a test tool.
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    _apt_install chromium chromium-driver
  fi
}

# node_modules/ as package-lock.json pins it (axe-core, injected by the browser tests), with
# `npm ci` again only when the lock file changes.
ensure_node_modules() {
  command -v npm >/dev/null || _apt_install nodejs npm
  local stamp
  stamp="$ROOT/node_modules/.installed-$(sha256sum "$ROOT/package-lock.json" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    say "Installing node_modules from package-lock.json (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$stamp"
  fi
}

# The translations: every locale/ catalog (.po) compiled to its .mo, which is not committed
# (Django's compilemessages skips a .po older than its .mo).
ensure_messages() {
  command -v msgfmt >/dev/null || _apt_install gettext
  (cd "$ROOT" && "$PY" manage.py compilemessages --ignore=.venv --ignore=node_modules \
    --ignore=var >/dev/null)
}
