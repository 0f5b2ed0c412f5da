from django.urls import path
from rest_framework import generics, serializers

from bench.bare.models import Gift


class GiftSerializer(serializers.ModelSerializer):
    class Meta:
        model = Gift
        fields = ["id", "amount", "currency", "message", "created_at"]


class GiftCreate(generics.CreateAPIView):
    serializer_class = GiftSerializer


urlpatterns = [path("gifts/", GiftCreate.as_view())]
