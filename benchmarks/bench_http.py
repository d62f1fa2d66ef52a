"""HTTP service throughput and latency, side by side with a bare Starlette ceiling.

For each database (SQLite, and PostgreSQL when it answers), two servers run as separate
processes under uvicorn (one worker each), on loopback:

* ``hospital-complaints serve``: the real service, every request authenticated with an API
  key (one indexed read), registering a complaint through the whole core (validation,
  routing, classification, encryption, hash chain, outbox) or listing masked summaries;
* the **ceiling**: a bare Starlette app doing the same single-row insert (a JSON document)
  and select (the newest 20 rows) with SQLAlchemy Core, nothing else.

Two measurements per operation (register = ``POST``, list = ``GET``) and server, from
outside the servers' processes:

* **throughput**: ``wrk`` (Debian) with ``--connections`` open connections for
  ``--seconds``: requests/s and wrk's p50/p99 latency;
* **latency at a fixed rate**: an open-loop client (this script, another process) sends
  ``--rate`` requests/s for ``--seconds``, each at its scheduled instant on one of 16
  keep-alive connections; latency is measured from the scheduled instant (no coordinated
  omission).

    .venv/bin/python benchmarks/bench_http.py                 # SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_http.py --seconds 5 --no-postgresql

The ratio column is the service's throughput over the ceiling's. Aim: >= 1/3 of the ceiling,
and p99 <= 50 ms at 100 requests/s. Figures depend on the machine; run it on a quiet one.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

DRAFT = {
    "channel": "front_desk", "received_at": "2026-11-20T08:30:00+08:00",
    "complainant": {"role": "patient", "name": "张三丰", "phone": "13812345678",
                    "consent_to_contact": True},
    "patient": {"patient_id": "P0099", "name": "张三丰"},
    "subject": "CT 等待太久", "description": "在 CT 室等了两个小时，没有人解释原因。",
}


# -- the ceiling: a bare Starlette app --------------------------------------------------------


def ceiling_app(url: str, schema: str | None) -> Any:
    """POST /items inserts one JSON row; GET /items selects the newest 20."""
    import sqlalchemy as sa
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    engine = sa.create_engine(url, pool_size=10, max_overflow=20) if not url.startswith(
        "sqlite") else sa.create_engine(url, connect_args={"check_same_thread": False})
    if url.startswith("sqlite"):
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    meta = sa.MetaData(schema=schema)
    items = sa.Table("bench_items", meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("body", sa.Text, nullable=False))
    if schema:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    meta.create_all(engine)

    def insert(body: str) -> int:
        with engine.begin() as conn:
            return int(conn.execute(sa.insert(items).values(body=body)).inserted_primary_key[0])

    def select() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(items).order_by(items.c.id.desc()).limit(20)).all()
        return [{"id": r.id, "body": json.loads(r.body)} for r in rows]

    async def post(request: Request) -> JSONResponse:
        body = await request.body()
        json.loads(body)
        return JSONResponse({"id": await run_in_threadpool(insert, body.decode())},
                            status_code=201)

    async def get(request: Request) -> JSONResponse:
        return JSONResponse({"items": await run_in_threadpool(select)})

    return Starlette(routes=[Route("/items", post, methods=["POST"]),
                             Route("/items", get, methods=["GET"])])


def run_ceiling(url: str, schema: str | None, port: int) -> None:
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    print(json.dumps({"event": "listening", "url": f"http://127.0.0.1:"
                      f"{sock.getsockname()[1]}"}), file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(ceiling_app(url, schema), log_config=None,
                                  access_log=False, server_header=False)).run(sockets=[sock])


# -- servers --------------------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _start(args: list[str], env: dict[str, str], cwd: Path) -> Server:
    proc = subprocess.Popen(args, env=env, cwd=cwd, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if '"listening"' in line:
            url = json.loads(line)["url"]
            threading.Thread(target=lambda: [None for _ in proc.stderr or []],
                             daemon=True).start()  # keep draining its log
            return Server(proc, url)
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(args)}")


def start_service(db_url: str, schema: str | None, folder: Path) -> tuple[Server, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HC_")}
    env.update({"HC_DATABASE_URL": db_url, "HC_BLOB_DIR": str(folder / "blobs"),
                "HC_ENCRYPTION_KEY_FILE": str(folder / "keys")})
    if schema:
        env["HC_DB_SCHEMA"] = schema
    cli = str(BIN / "hospital-complaints")
    if not (folder / "keys").exists():
        subprocess.run([cli, "keys", "generate", "--file", str(folder / "keys")], env=env,
                       check=True, capture_output=True)
    issued = subprocess.run([cli, "http", "keys", "issue", f"bench-{uuid.uuid4().hex[:6]}",
                             "--scope", "intake", "--scope", "cases:read", "--role",
                             "complaint_officer"], env=env, capture_output=True, text=True,
                            check=True)
    server = _start([cli, "serve", "--host", "127.0.0.1", "--port", "0", "--log-level",
                     "warning"], env, folder)
    return server, issued.stdout.strip()


def start_ceiling(db_url: str, schema: str | None, folder: Path) -> Server:
    args = [sys.executable, str(Path(__file__).resolve()), "--ceiling-server", db_url,
            "--ceiling-schema", schema or ""]
    return _start(args, dict(os.environ), folder)


# -- load -----------------------------------------------------------------------------------------

WRK_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(headers)s
local days = {}
for i = 1, 300 do days[i] = string.format("2026-%%02d-%%02dT08:30:00+08:00",
  (i %% 10) + 1, (i %% 28) + 1) end
local template = [[%(body)s]]
request = function()
  local body = string.gsub(template, "RECEIVED", days[math.random(1, 300)])
  return wrk.format(nil, nil, nil, body)
end
"""
WRK_GET = """
%(headers)s
"""


def wrk(url: str, path: str, method: str, headers: dict[str, str], seconds: int,
        connections: int) -> dict[str, float]:
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    body = json.dumps({**DRAFT, "received_at": "RECEIVED"}, ensure_ascii=False)
    script = (WRK_POST % {"headers": lines, "body": body} if method == "POST"
              else WRK_GET % {"headers": lines})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                               "-s", f.name, url + path], capture_output=True, text=True,
                              timeout=seconds + 60)
    finally:
        os.unlink(f.name)
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rate, "p50": _wrk_ms(out, "50%"), "p99": _wrk_ms(out, "99%"),
            "non2xx": float(errors.group(1)) if errors else 0.0}


def _wrk_ms(out: str, label: str) -> float:
    m = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if m is None:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def fixed_rate(url: str, path: str, method: str, headers: dict[str, str], rate: int,
               seconds: int, connections: int = 16) -> dict[str, float]:
    """Open loop: request i is due at start + i/rate; latency counts from that instant."""
    host, port = url.removeprefix("http://").split(":")
    total = rate * seconds
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.2

    def worker() -> None:
        nonlocal failures
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body = None
            if method == "POST":
                day = f"2026-{(i % 10) + 1:02d}-{(i % 28) + 1:02d}T08:30:00+08:00"
                body = json.dumps({**DRAFT, "received_at": day}, ensure_ascii=False).encode()
            try:
                conn.request(method, path, body=body, headers={
                    **headers, "Content-Type": "application/json"})
                answer = conn.getresponse()
                answer.read()
                ok = answer.status < 300
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                ok = False
            elapsed = time.perf_counter() - due
            with lock:
                latencies.append(elapsed)
                failures += 0 if ok else 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {"p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "failed": float(failures), "n": float(len(latencies))}


# -- the run ---------------------------------------------------------------------------------------


def bench_database(label: str, db_url: str, schema_base: str | None, args: argparse.Namespace,
                   folder: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    service, key = start_service(db_url, f"{schema_base}_svc" if schema_base else None,
                                 folder / "svc")
    ceiling = start_ceiling(db_url if not db_url.startswith("sqlite") else
                            f"sqlite:///{folder / 'ceiling.db'}",
                            f"{schema_base}_ceil" if schema_base else None, folder)
    try:
        plans = [("register", "POST", service, "/v1/cases", {"X-API-Key": key}),
                 ("register", "POST", ceiling, "/items", {}),
                 ("list", "GET", service, "/v1/cases?limit=20", {"X-API-Key": key}),
                 ("list", "GET", ceiling, "/items", {})]
        for op, method, server, path, headers in plans:
            who = "service" if server is service else "ceiling"
            burst = wrk(server.url, path, method, headers, args.seconds, args.connections)
            steady = fixed_rate(server.url, path, method, headers, args.rate, args.seconds)
            rows.append({"db": label, "op": op, "server": who, **{
                f"wrk_{k}": v for k, v in burst.items()}, **{
                f"at{args.rate}_{k}": v for k, v in steady.items()}})
            print(f"  {label:10} {op:8} {who:8} {burst['rps']:8.0f} req/s  wrk p50 "
                  f"{burst['p50']:6.1f} ms p99 {burst['p99']:6.1f} ms | at {args.rate}/s p50 "
                  f"{steady['p50']:5.1f} ms p99 {steady['p99']:6.1f} ms"
                  + (f"  ({int(burst['non2xx'])} non-2xx)" if burst["non2xx"] else ""),
                  flush=True)
    finally:
        service.stop()
        ceiling.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--ceiling-server", metavar="DB_URL", help=argparse.SUPPRESS)
    parser.add_argument("--ceiling-schema", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ceiling_server:
        run_ceiling(args.ceiling_server, args.ceiling_schema or None, 0)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    random.seed(20261120)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hc-bench-http-") as tmp:
        folder = Path(tmp)
        (folder / "svc").mkdir()
        print(f"{args.seconds} s per run, wrk {args.connections} connections; fixed rate "
              f"{args.rate}/s on 16 connections", flush=True)
        rows += bench_database("sqlite", f"sqlite:///{folder / 'svc' / 'hc.db'}", None, args,
                               folder)
        if not args.no_postgresql:
            rows += _postgresql(args, folder)
    print()
    print(f"{'db':10} {'op':8} {'service/ceiling throughput':>28} {'service p99 at rate':>20}")
    for db in dict.fromkeys(r["db"] for r in rows):
        for op in ("register", "list"):
            svc = next(r for r in rows if (r["db"], r["op"], r["server"]) == (db, op, "service"))
            ceil = next(r for r in rows if (r["db"], r["op"], r["server"]) == (db, op,
                                                                              "ceiling"))
            ratio = svc["wrk_rps"] / ceil["wrk_rps"]
            print(f"{db:10} {op:8} {svc['wrk_rps']:8.0f} / {ceil['wrk_rps']:6.0f} = "
                  f"{ratio:5.2f}      {svc[f'at{args.rate}_p99']:8.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


def _postgresql(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
    except Exception as exc:
        print(f"PostgreSQL not reachable ({str(exc).splitlines()[0]}): skipped", flush=True)
        return []
    base = f"hc_bench_{uuid.uuid4().hex[:8]}"
    (folder / "pg" / "svc").mkdir(parents=True)
    try:
        return bench_database("postgresql", PG_URL, base, args, folder / "pg")
    finally:
        with engine.begin() as conn:
            for suffix in ("svc", "ceil"):
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{base}_{suffix}" CASCADE')
        engine.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
