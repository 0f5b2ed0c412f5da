from apps.core.routers import OptionalSlashRouter
from apps.events.api import views

router = OptionalSlashRouter()
router.register("events", views.EventViewSet, basename="event")

urlpatterns = router.urls
