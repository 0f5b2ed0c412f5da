from django.urls import path

from apps.funding.views import funding_language, funding_page

urlpatterns = [
    path("funding/", funding_page, name="funding"),
    path("funding/language", funding_language, name="funding-language"),
]
