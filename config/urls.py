from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.problems import handler404 as problem_not_found
from apps.core.views import healthz, livez
from apps.monitoring.views import metrics

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.opendata.api.urls")),  # before organizations/: its .xml files
    path("", include("apps.organizations.api.urls")),
    path("", include("apps.reference.api.urls")),
    path("", include("apps.needs.api.urls")),
    path("", include("apps.pledges.api.urls")),
    path("", include("apps.matching.api.urls")),
    path("", include("apps.disbursements.api.urls")),
    path("", include("apps.reports.api.urls")),
    path("", include("apps.public.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("", include("apps.fx.api.urls")),
    path("", include("apps.screening.api.urls")),
    path("", include("apps.webhooks.api.urls")),
    path("", include("apps.events.api.urls")),
    path("", include("apps.statements.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("metrics", metrics, name="metrics"),  # Prometheus; bearer METRICS_TOKEN
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Anything else under api/: a problem+json 404 whatever the method, DEBUG on or off (never
    # Django's HTML page).
    re_path(r"^api(?:/|$)", csrf_exempt(problem_not_found), name="api-not-found"),
    path("api-auth/", include("rest_framework.urls")),
    # The language switch of the pages: POST language (and next) sets the language cookie.
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("portal/", include("apps.portal.urls")),  # the field portal for NGO staff
    path("", include("apps.funding.urls")),  # /funding/: the public funding page
    # The site's front door (the pages' AidMatch link): the public page, for anyone.
    path("", RedirectView.as_view(pattern_name="funding", permanent=False), name="home"),
]

handler400 = "apps.core.problems.handler400"
handler403 = "apps.core.problems.handler403"
handler404 = "apps.core.problems.handler404"
handler500 = "apps.core.problems.handler500"
