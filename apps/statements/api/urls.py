from django.urls import path

from apps.statements.api.views import StatementView

urlpatterns = [
    path("donors/me/statement", StatementView.as_view(), name="donor-statement"),
]
