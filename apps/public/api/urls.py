from django.urls import path

from apps.public.api.views import funding_summary_view

urlpatterns = [path("public/funding-summary", funding_summary_view, name="funding-summary")]
