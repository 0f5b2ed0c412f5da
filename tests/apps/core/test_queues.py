"""Every task has a queue: named in CELERY_TASK_ROUTES (a new task fails here until its queue is
chosen), routed to one of CELERY_QUEUE_NAMES, and so are the tasks beat sends."""

from django.conf import settings

from config.celery_app import app as celery_app

EXPECTED = {
    "matching": {
        "apps.matching.tasks.release_overdue_proposals",
        "apps.matching.tasks.run_matching",
        "apps.matching.tasks.sweep_matching",
    },
    "notify": {
        "apps.events.tasks.relay_events",
        "apps.webhooks.tasks.dispatch_webhooks",
        "apps.webhooks.tasks.send_deliveries",
    },
    "screening": {
        "apps.screening.tasks.rescreen_all_organizations",
        "apps.screening.tasks.screen_organizations",
    },
    "default": {
        "apps.accounts.tasks.purge_expired_tokens",
        "apps.core.tasks.purge_idempotency_records",
        "apps.disbursements.tasks.flag_unconfirmed_tranches",
        "apps.events.tasks.purge_old_events",
        "apps.ledger.tasks.reconcile_ledger",
        "apps.needs.tasks.expire_overdue_needs",
        "apps.pledges.tasks.expire_due_pledges",
        "apps.pledges.tasks.make_due_scheduled_pledges",
        "apps.webhooks.tasks.purge_webhook_log",
    },
}


def queue_of(task_name: str) -> str:
    return celery_app.amqp.router.route({}, task_name)["queue"].name


def test_every_task_is_routed_by_name_to_its_queue():
    celery_app.loader.import_default_modules()
    tasks = {name for name in celery_app.tasks if name.startswith("apps.")}

    routed = {queue: {name for name in tasks if queue_of(name) == queue} for queue in EXPECTED}

    assert routed == EXPECTED
    assert tasks <= set(settings.CELERY_TASK_ROUTES)
    assert set(EXPECTED) == set(settings.CELERY_QUEUE_NAMES)
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "default"


def test_every_periodic_task_goes_to_a_queue_with_its_worker_command():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in settings.CELERY_TASK_ROUTES, entry["task"]
        assert queue_of(entry["task"]) in settings.CELERY_QUEUE_NAMES


def test_a_task_added_later_to_an_app_goes_to_its_apps_queue():
    assert queue_of("apps.matching.tasks.something_new") == "matching"
    assert queue_of("apps.notices.tasks.send_notice") == "notify"
    assert queue_of("apps.screening.tasks.something_new") == "screening"
    assert queue_of("apps.reports.tasks.something_new") == "default"
