"""IATI 2.03 files of a publishing organization: ``write_activities`` (its ``iati-activities``
file, one activity per published need) and ``write_organisation`` (its ``iati-organisations``
file), both written to a binary file-like and streamed."""

from apps.opendata.iati.activities import iter_activities, write_activities
from apps.opendata.iati.organisations import iter_organisation, write_organisation

__all__ = ["iter_activities", "iter_organisation", "write_activities", "write_organisation"]
