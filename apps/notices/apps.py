from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "apps.notices"
    label = "notices"
    verbose_name = "Notices (emails driven by the outbox)"

    def ready(self):
        from apps.events.signals import events_published
        from apps.notices.receivers import email_on_events

        events_published.connect(email_on_events, dispatch_uid="apps.notices.email_on_events")
