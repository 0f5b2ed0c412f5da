from django.contrib import admin

from apps.webhooks.models import WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "owner_kind", "url", "enabled", "created_at"]
    exclude = ["secret", "previous_secret"]
