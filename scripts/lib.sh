# Shared by scripts/run and scripts/test: a virtual environment and the local services.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ensure_venv FILE: a .venv with FILE's pinned packages installed (again only when FILE changes).
ensure_venv() {
  local reqs="$ROOT/$1" stamp
  if [ ! -x "$PY" ]; then
    say "Creating the virtual environment in .venv"
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(cat "$reqs" "$ROOT/requirements.txt" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    say "Installing dependencies from $1"
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$reqs"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
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
