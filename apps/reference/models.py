"""Facts shipped with the code: Afghanistan's provinces and districts (OCHA COD-AB P-codes),
humanitarian sectors with their DAC-5 purpose codes, ISO 4217 currencies with minor units.
Loaded by a data migration from ``apps/reference/data/``; read-only through the API."""

from django.db import models

from apps.core.l10n import language_of


class LocalNames(models.Model):
    """A name in English (``name``, what clients and exports rely on), Dari and Pashto."""

    name_dari = models.CharField(max_length=100, blank=True, default="")
    name_pashto = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        abstract = True

    def local_name(self, language: str | None = None) -> str:
        """The name in ``language`` (default: the active one); English when it has none."""
        local = {"fa": self.name_dari, "ps": self.name_pashto}.get(language_of(language), "")
        return local or self.name


class Province(LocalNames):
    pcode = models.CharField(max_length=4, primary_key=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["pcode"]

    def __str__(self) -> str:
        return f"{self.pcode} {self.name}"


class District(models.Model):
    pcode = models.CharField(max_length=6, primary_key=True)
    name = models.CharField(max_length=100)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="districts")

    class Meta:
        ordering = ["pcode"]

    def __str__(self) -> str:
        return f"{self.pcode} {self.name}"


class Sector(LocalNames):
    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=100)
    dac5_codes = models.JSONField(default=list)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Currency(models.Model):
    code = models.CharField(max_length=3, primary_key=True)
    name = models.CharField(max_length=100)
    minor_unit = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minor_unit__lte=4), name="currency_minor_unit_range"
            )
        ]

    def __str__(self) -> str:
        return self.code
