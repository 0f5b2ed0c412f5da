#!/bin/sh
# The container's entrypoint: check the configuration, then become the role asked for.
#
#   api                 gunicorn (deploy/gunicorn.conf.py: WEB_CONCURRENCY, GUNICORN_THREADS,
#                       GUNICORN_TIMEOUT, PORT)
#   worker QUEUE[,Q2]   a Celery worker for those queues (matching: --concurrency 1; others
#                       CELERY_CONCURRENCY, default one process per core)
#   beat                the one Celery beat of the deployment
#   migrate             apply migrations, then exit (run it once per release, from one place)
#   manage ARGS...      python manage.py ARGS (createsuperuser, rotate_field_keys, audit_verify, ...)
#   anything else       run as given
#
# Every role first runs `manage.py check --deploy --fail-level WARNING` with the production
# settings: a missing secret or an unsafe setting stops the container before it serves anything.
# Migrations never run here implicitly: with N replicas starting at once, each would race the
# others through the same migrations; the `migrate` role is run once (compose's `migrate`
# service, a release job, a Kubernetes Job) before the new code starts.
set -eu

cd "$(dirname "$0")/.."
: "${DJANGO_SETTINGS_MODULE:=config.settings.production}"
export DJANGO_SETTINGS_MODULE

fail() {
  echo "entrypoint: $*" >&2
  exit 78  # EX_CONFIG
}

if [ "$DJANGO_SETTINGS_MODULE" = config.settings.production ]; then
  for name in DJANGO_SECRET_KEY DATABASE_URL FIELD_ENCRYPTION_KEYS DJANGO_ALLOWED_HOSTS; do
    eval "value=\${$name:-}"
    # shellcheck disable=SC2154 # set by the eval
    [ -n "$value" ] || fail "$name is not set (production settings need it; see deploy/env.example)"
  done
fi
python manage.py check --deploy --fail-level WARNING ||
  fail "manage.py check --deploy failed (above): fix the configuration before starting"

# Prometheus counts of several processes (gunicorn's workers, a prefork worker's children) meet
# in PROMETHEUS_MULTIPROC_DIR: it must start empty.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

role="${1:-api}"
[ "$#" -gt 0 ] && shift
case "$role" in
  api)
    exec gunicorn config.wsgi --config deploy/gunicorn.conf.py "$@"
    ;;
  worker)
    [ "$#" -gt 0 ] || fail "worker needs its queue(s): worker default | matching | notify | screening"
    queues="$1"
    shift
    case "$queues" in
      matching) concurrency=1 ;;  # one run at a time anyway (single flight); the solver is big
      *) concurrency="${CELERY_CONCURRENCY:-0}" ;;
    esac
    set -- --loglevel "${LOG_LEVEL:-INFO}" -Q "$queues" -n "${queues%%,*}@%h" "$@"
    [ "$concurrency" = 0 ] || set -- --concurrency "$concurrency" "$@"
    exec celery -A config.celery_app worker "$@"
    ;;
  beat)
    # The schedule is declared in code (CELERY_BEAT_SCHEDULE); the state file is scratch.
    exec celery -A config.celery_app beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
