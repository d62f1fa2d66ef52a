"""How a HIS embeds hospital-complaints: register, work a case, list it, export it.

Run:  .venv/bin/python examples/host_integration.py
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hospital_complaints import (
    Acknowledge,
    FixedClock,
    HospitalComplaintsError,
    Outcome,
    Respond,
    build_service,
    hookimpl,
)

HERE = Path(__file__).parent
clock = FixedClock(datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
service = build_service(clock=clock)  # plugins from entry points, in-memory store


class PrintNotifier:
    """A hospital's notification plugin would send SMS or e-mail here."""

    @hookimpl
    def hc_after_event(self, event, case):
        print(f"  notify: {case.reference} {event.type} by {event.actor} -> {case.state.value}")


service.plugins.register(PrintNotifier(), name="print_notifier")

# 1. A 12320 hotline work order arrives as JSON; the built-in normaliser maps it.
work_order = json.loads((HERE / "intake" / "hotline_work_order.json").read_text("utf-8"))
case = service.intake("hotline_platform", work_order, actor="12320-gateway",
                      idempotency_key=work_order["ticket_id"])
print(f"registered {case.reference}; suggested categories:",
      [(s.category.value, s.matched) for s in case.suggestions])

# 2. The clerk works the case.
service.execute(case.reference, Acknowledge(method="phone", message="已受理，5 个工作日内答复",
                                            expected_response_by=date(2026, 11, 27)),
                actor="clerk:wangmin")
service.execute(case.reference, ("classify", {"categories": ["process_management"]}),
                actor="clerk:wangmin")
service.execute(case.reference, Respond(method="phone", text="报告已签发",
                                        outcome=Outcome(kind="not_upheld")),
                actor="lead:liqiang")

# 3. Bad input is explained, and nothing is stored.
try:
    service.execute(case.reference, ("close", {}), actor="clerk:wangmin")
except HospitalComplaintsError as exc:
    print("refused:", exc.en)

# 4. Listings and exports are masked.
out = io.StringIO()
service.plugins.exporters()["jsonl"].export(service.iter_cases(), out)
print(out.getvalue().strip())
