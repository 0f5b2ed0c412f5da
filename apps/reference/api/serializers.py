from rest_framework import serializers

from apps.core.schema import documented_json
from apps.reference.models import Currency, District, Province, Sector


class ProvinceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Province
        # name: English, whatever the request's language (clients match on it); the Dari and
        # Pashto names beside it
        fields = ["pcode", "name", "name_dari", "name_pashto"]


class DistrictSerializer(serializers.ModelSerializer):
    province = serializers.CharField(source="province_id")

    class Meta:
        model = District
        fields = ["pcode", "name", "province"]


class SectorSerializer(serializers.ModelSerializer):
    dac5_codes = documented_json(serializers.ListField(child=serializers.CharField()))

    class Meta:
        model = Sector
        fields = ["code", "name", "name_dari", "name_pashto", "dac5_codes"]


class CurrencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Currency
        fields = ["code", "name", "minor_unit"]
