from celery import shared_task

from apps.accounts.services import token_purge_expired


@shared_task(name="apps.accounts.tasks.purge_expired_tokens")
def purge_expired_tokens() -> int:
    return token_purge_expired()
