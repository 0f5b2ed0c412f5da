from apps.core.routers import OptionalSlashRouter
from apps.disbursements.api import views

router = OptionalSlashRouter()
router.register("disbursements", views.DisbursementViewSet, basename="disbursement")

urlpatterns = router.urls
