"""Imaging records in SQL: ``ImagingRepository(store)``, importable from here as before (the
imaging service, the plugin API and the HL7 adapter import it from this module).

The repository lives in :mod:`hospital_complaints.storage.sql.imaging`, one module per idea:
rows, writes, tuning, lookups and analytics.
"""

from .imaging import ImagingRepository

__all__ = ["ImagingRepository"]
