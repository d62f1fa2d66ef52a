"""Imaging records in SQL: ``ImagingRepository(store)``.

Exams are one row per accession number with one column per milestone (UTC epoch seconds),
the derived delays (``wait_min``, ``slip_min``, ``report_min``) and the local day/hour used for
grouping, so every analytic below is one set-based query that SQLite, PostgreSQL and MariaDB
run alike. Loads go in batches: the batch's existing rows are read by primary key, merged
(the newer feed wins per field) and written back, so re-importing a file changes nothing.
The patient id is stored only as a keyed hash (HMAC under the store's key ring).

The repository is put together from one module per idea:

- :mod:`.rows`: the imaging tables, and how records map to rows and back (sealed);
- :mod:`.writes`: loading exams (merged), faults, roster shifts and complaint links;
- :mod:`.bulk`: loading exams from files in bulk (SQLite bulk transactions, PostgreSQL
  ``COPY``), with the same merges and seals;
- :mod:`.tuning`: per-dialect session settings for the analytics reads, ``ANALYZE``;
- :mod:`.lookups`: records by key or by period;
- :mod:`.analytics`: the set-based analytics queries (ranks, summary counts, fault impacts,
  complaint exams and metrics);
- :mod:`.repository`: :class:`ImagingRepository`, all of the above.

``hospital_complaints.storage.sql.exams.ImagingRepository`` is the same class.
"""

from .repository import ImagingRepository

__all__ = ["ImagingRepository"]
