# syntax=docker/dockerfile:1
# AidMatch: one image for every role (api, worker <queue>, beat, migrate), chosen by the command.
#   docker build -t aidmatch .
#   docker run --env-file deploy/.env aidmatch api        # see deploy/entrypoint.sh
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: compilers and headers, wheels for every pinned requirement, the .mo files --------
FROM ${PYTHON_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev gettext \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels -r requirements.txt
# The catalogs compiled (.mo files are built, not committed), with the msgfmt --check that
# compilemessages runs; gettext stays out of the runtime image.
COPY . /src
RUN cd /src && mkdir /mo \
 && find . -path ./var -prune -o -name django.po -print | while read -r po; do \
      msgfmt --check -o "${po%.po}.mo" "$po" && cp --parents "${po%.po}.mo" /mo/ || exit 1; \
    done

# --- runtime: the interpreter, the wheels, the code; no compiler, not root ----------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PORT=8000
# libpq5: the client library for a psycopg2 built from source (the binary wheel carries its own).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 aidmatch \
 && useradd --system --uid 10001 --gid aidmatch --home-dir /app --shell /usr/sbin/nologin aidmatch
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
WORKDIR /app
COPY --chown=root:root . .
RUN --mount=type=bind,from=builder,source=/mo,target=/mo cp -r /mo/. /app/
# Static files are collected into the image (whitenoise serves them from every api container).
# Production settings refuse to load without their secrets: these values exist for this one
# command only and are not kept in the image (no ENV).
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret-collectstatic-only-not-a-secret \
    DATABASE_URL=postgres://build@localhost/build \
    FIELD_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput \
 && python -m compileall -q aidmatch apps config \
 && mkdir -p var/media \
 && chown aidmatch:aidmatch var var/media
USER aidmatch
EXPOSE 8000
# By role (PID 1's command line): api answers /livez; a worker answers a ping; beat runs.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]
ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["api"]
