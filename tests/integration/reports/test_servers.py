"""PostgreSQL and MariaDB give the same facts and the same report as SQLite (fresh schema or
database per test, dropped afterwards)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from support import require_peer

from hospital_complaints import FixedClock, Settings, bootstrap
from hospital_complaints.demo.scenario import demo_imaging
from hospital_complaints.reports.build.facts import fact_from_case
from hospital_complaints.reports.readers import read_facts
from hospital_complaints.settings import DatabaseSettings
from hospital_complaints.storage.sql import KeyRing, SqlStore

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIA_URL = "mariadb+pymysql://root:@127.0.0.1:3306/test"


def _reachable(url: str) -> str | None:
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(params=["postgresql", "mariadb"])
def server_store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    name = f"hc_r_{uuid.uuid4().hex[:10]}"
    ring = KeyRing.parse(KeyRing.generate_key())
    if request.param == "postgresql":
        why = _reachable(PG_URL)
        if why:
            require_peer("postgresql", why)
        store = SqlStore(PG_URL, key_ring=ring, schema=name)
        store.upgrade()
        yield store
        store.dispose()
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
        return
    why = _reachable(MARIA_URL)
    if why:
        require_peer("mariadb", why)
    admin = sa.create_engine(MARIA_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    store = SqlStore(f"mariadb+pymysql://root:@127.0.0.1:3306/{name}", key_ring=ring)
    store.upgrade()
    yield store
    store.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name}"))
    admin.dispose()


def _load(app, clock, scenario) -> list[str]:
    refs = scenario.play(app, clock, 17, n=40)
    exams, faults, shifts = demo_imaging()
    app.imaging.add_exams(exams)
    app.imaging.add_faults(faults)
    app.imaging.add_shifts(shifts)
    app.imaging.refresh_links()
    clock.set(scenario.START + timedelta(days=150))
    return refs


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items() if k not in {"generated_at"}}
    return value


@pytest.mark.peer("postgresql")
def test_server_databases_give_the_same_facts_and_report_as_sqlite(server_store, tmp_path,
                                                                    scenario, new_plugins):
    from hospital_complaints.plugins.builtin import default_reports  # noqa: F401

    clock = FixedClock(scenario.START)
    server = bootstrap(Settings(), clock=clock, plugins=new_plugins(), store=server_store)
    refs = _load(server, clock, scenario)
    lite_clock = FixedClock(scenario.START)
    lite = bootstrap(Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path}/r.db")),
                     clock=lite_clock, plugins=new_plugins())
    _load(lite, lite_clock, scenario)
    as_of = scenario.START + timedelta(days=75)
    read = {f.reference: f for f in read_facts(server_store, scenario.START, as_of, as_of)}
    for ref in refs:
        expected = fact_from_case(server.complaints.get(ref), as_of)
        if expected.received_at < as_of:
            assert read[ref] == expected, ref
    a = json.dumps(_rounded(server.reports.monthly("2026-11").to_json()), sort_keys=True)
    b = json.dumps(_rounded(lite.reports.monthly("2026-11").to_json()), sort_keys=True)
    assert a == b
    lite.close()
