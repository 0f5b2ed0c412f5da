from django.urls import path

from apps.opendata.api import flow_views, iati_views

urlpatterns = [
    path(
        "organizations/<uuid:pk>/iati-activities.xml",
        iati_views.activities_view,
        name="iati-activities",
    ),
    path(
        "organizations/<uuid:pk>/iati-organisation.xml",
        iati_views.organisation_view,
        name="iati-organisation",
    ),
    path("flows/", flow_views.FlowListView.as_view(), name="flow-list"),
]
