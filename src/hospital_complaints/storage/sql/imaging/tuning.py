"""Tuning for the analytics: per-dialect session settings for the read transactions, and
the planner's statistics after a bulk load (``ANALYZE``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from .rows import ImagingTables

#: per-connection setting for analytics on SQLite: a 128 MB page cache (the default is 2 MB)
SQLITE_ANALYTICS = ("PRAGMA cache_size=-131072",)
#: per-transaction settings for analytics on PostgreSQL: the streamed reads (cursors) want
#: every row, so plan for all rows rather than the first tenth (the default for cursors);
#: no JIT compilation (it costs about 0.4 s per query and these queries gain little from it)
POSTGRESQL_ANALYTICS = ("SET LOCAL cursor_tuple_fraction = 1", "SET LOCAL jit = off")
#: per-connection setting for analytics on MySQL/MariaDB: GROUP_CONCAT texts are cut at
#: 1 MB by default (silently, with a warning)
MYSQL_ANALYTICS = ("SET SESSION group_concat_max_len = 1073741824",)


class ImagingTuning(ImagingTables):
    """Read transactions tuned per dialect for the analytics, and :meth:`analyze`."""

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read transaction; on SQLite with a page cache sized for scans over a million
        exams (SQLite's default cache is 2 MB), on PostgreSQL planned for reading all rows,
        on MySQL/MariaDB with GROUP_CONCAT texts of any length."""
        settings = {"sqlite": SQLITE_ANALYTICS, "postgresql": POSTGRESQL_ANALYTICS,
                    "mysql": MYSQL_ANALYTICS, "mariadb": MYSQL_ANALYTICS
                    }.get(self.store.dialect, ())
        with self.store.read() as conn:
            for setting in settings:
                conn.exec_driver_sql(setting)
            yield conn

    def analyze(self) -> None:
        """Refresh the planner's statistics of the imaging tables: run it after a bulk load,
        or the database may plan the analytics joins for empty tables. On PostgreSQL this
        is ``VACUUM (ANALYZE)``, which also marks the loaded pages all-visible, so that the
        analytics read the covering indexes alone (index-only scans)."""
        tables = (self.exams, self.faults, self.shifts, self.links)
        if self.store.dialect == "postgresql":  # VACUUM runs outside a transaction
            with self.store.engine.connect() as conn:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                for t in tables:
                    name = auto.dialect.identifier_preparer.format_table(t)
                    auto.exec_driver_sql(f"VACUUM (ANALYZE) {name}")
            return
        with self.store.write() as conn:
            for t in tables:
                name = conn.dialect.identifier_preparer.format_table(t)
                if self.store.dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA analysis_limit=2000")
                    conn.exec_driver_sql(f"ANALYZE {name}")
                else:
                    conn.exec_driver_sql(f"ANALYZE TABLE {name}").all()
