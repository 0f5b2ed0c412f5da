from django.apps import AppConfig


class PledgesConfig(AppConfig):
    name = "apps.pledges"
    label = "pledges"
    verbose_name = "Pledges"
