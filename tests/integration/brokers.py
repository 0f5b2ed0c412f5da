"""The brokers the worker tests run on: this run's Redis database, and a RabbitMQ virtual host
of this test process's own (created at its first use, deleted at the end of the session), so
that test runs side by side never share a queue, a message or a worker's ping."""

import os
import subprocess
import time
from dataclasses import dataclass

import redis
from kombu import pools

from config.celery_app import app as celery_app

# RabbitMQ on loopback (scripts/lib.sh, ensure_rabbitmq), managed with rabbitmqctl.
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(
        ["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def rabbitmq_vhost_create() -> str:
    vhost = f"aidmatch_test_{os.getpid()}"
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    return vhost


def rabbitmq_vhost_delete(vhost: str) -> None:
    rabbitmqctl("delete_vhost", vhost)


@dataclass(frozen=True)
class Broker:
    """``name`` is the pytest id ("redis" or "rabbitmq")."""

    name: str
    url: str
    vhost: str = ""

    def queue_length(self, queue: str) -> int:
        """Messages waiting in ``queue`` (declared as the workers declare it)."""
        with celery_app.connection_for_write() as conn:
            declared = celery_app.amqp.queues[queue].bind(conn.default_channel).queue_declare()
            return declared.message_count

    def settle(self, timeout: float = 30.0) -> None:
        """After a worker was killed: RabbitMQ puts the messages it held unacknowledged back in
        their queues once it sees the connection closed; wait for that. (Redis keeps them
        aside until the visibility timeout: nothing to wait for.)"""
        if self.name != "rabbitmq":
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = rabbitmqctl(
                "list_queues", "-p", self.vhost, "--no-table-headers", "messages_unacknowledged"
            ).split()
            if all(c == "0" for c in counts):
                return
            time.sleep(0.2)
        raise AssertionError(f"messages still unacknowledged in {self.vhost} after {timeout}s")

    def forget_unacknowledged(self) -> None:
        """Drop the messages a killed worker held: on Redis they would come back into this
        database after the visibility timeout (an hour). RabbitMQ holds none for a closed
        connection."""
        if self.name == "redis":
            redis.Redis.from_url(self.url).delete("unacked", "unacked_index")


def use_broker(url: str, transport_options: dict) -> None:
    """Point this process's Celery app at another broker: kombu's pooled connections and
    producers (shared by every app with the same broker) are closed and forgotten, and the next
    publish connects afresh."""
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = transport_options
