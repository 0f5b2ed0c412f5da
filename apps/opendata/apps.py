from django.apps import AppConfig


class OpenDataConfig(AppConfig):
    name = "apps.opendata"
    label = "opendata"
    verbose_name = "Open data (IATI, HXL, flows)"
