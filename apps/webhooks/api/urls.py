from apps.core.routers import OptionalSlashRouter
from apps.webhooks.api import views

router = OptionalSlashRouter()
router.register("webhook-endpoints", views.WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = router.urls
