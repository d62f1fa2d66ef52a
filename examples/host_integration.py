"""How a HIS embeds hospital-complaints: one ``bootstrap`` call, then the application services.

Run:  .venv/bin/python examples/host_integration.py

It keeps its data in a SQLite file in a temporary folder (a hospital would give
``postgresql://...`` and its own key ring), with a fixed clock so the output is the same each run.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hospital_complaints import (
    Acknowledge,
    DatabaseSettings,
    FixedClock,
    HospitalComplaintsError,
    KeyRing,
    Outcome,
    Respond,
    Settings,
    Viewer,
    bootstrap,
    hookimpl,
)

HERE = Path(__file__).parent
folder = Path(tempfile.mkdtemp(prefix="hc-host-"))
settings = Settings(
    database=DatabaseSettings(url=f"sqlite:///{folder / 'complaints.db'}",
                              encryption_keys=KeyRing.generate_key()),
)
clock = FixedClock(datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
app = bootstrap(settings, clock=clock)  # plugins from entry points; the store opens on first use


class PrintNotifier:
    """A hospital's notification plugin would send SMS or e-mail here."""

    @hookimpl
    def hc_after_event(self, event, case):
        print(f"  notify: {case.reference} {event.type} by {event.actor} -> {case.state.value}")


app.plugins.register(PrintNotifier(), name="print_notifier")

# 1. A 12320 hotline work order arrives as JSON; the built-in normaliser maps it.
work_order = json.loads((HERE / "intake" / "hotline_work_order.json").read_text("utf-8"))
case = app.complaints.intake("hotline_platform", work_order, actor="12320-gateway",
                             idempotency_key=work_order["ticket_id"])
print(f"registered {case.reference}; suggested categories:",
      [(s.category.value, s.matched) for s in case.suggestions])

# 2. The clerk works the case.
app.complaints.execute(case.reference, Acknowledge(
    method="phone", message="已受理，5 个工作日内答复", expected_response_by=date(2026, 11, 27)),
    actor="clerk:wangmin")
app.complaints.execute(case.reference, ("classify", {"categories": ["process_management"]}),
                       actor="clerk:wangmin")
app.complaints.execute(case.reference, Respond(method="phone", text="报告已签发",
                                               outcome=Outcome(kind="not_upheld")),
                       actor="lead:liqiang")

# 3. Bad input is explained, and nothing is stored.
try:
    app.complaints.execute(case.reference, ("close", {}), actor="clerk:wangmin")
except HospitalComplaintsError as exc:
    print("refused:", exc.en)

# 4. Deadlines of the case, and the reminder sweep (a dry run records nothing).
for d in app.deadlines.for_case(case.reference):
    print(f"  deadline {d.milestone}: {d.due:%Y-%m-%d %H:%M} ({d.rule})")
print("due soon / overdue:", len(app.deadlines.sweep(dry_run=True).overdue))

# 5. Identity is shown only through the audited decision.
officer = Viewer(user="wangmin", roles=frozenset({"patient_relations"}), department="医患办")
print("caller:", app.complaints.reveal_identity(case.reference, officer, "call back")
      ["complainant"]["name"])

# 6. Listings and exports are masked.
out = io.StringIO()
app.exports.export("jsonl", out)
print(out.getvalue().strip())
print("audit:", "ok" if app.audit.verify().ok else "TAMPERED")
app.close()
