from django.apps import AppConfig


class DisbursementsConfig(AppConfig):
    name = "apps.disbursements"
    label = "disbursements"
    verbose_name = "Disbursements"
