"""Reports over HTTP: the monthly report and the returns as files, in every format the CLI
writes; no identity in any; a department viewer gets its own department only; bad requests
are clear problems in zh and en."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hospital_complaints.testing import complaint_draft

MONTH = "2026-11"


def _register(service: Any, headers: dict[str, str], **overrides: Any) -> str:
    r = service.client.post("/v1/cases", json=complaint_draft(**overrides), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["case"]["reference"])


def test_the_monthly_report_as_json_html_csv_and_xlsx(service: Any,
                                                     officer: dict[str, str]) -> None:
    _register(service, officer, department="CT室")
    _register(service, officer, department="超声科", channel="letter")
    c = service.client
    listed = c.get("/v1/reports", headers=officer).json()
    assert [r["id"] for r in listed["reports"]] == ["hotline-monthly", "ko41a", "monthly"]
    assert listed["formats"] == ["json", "html", "csv", "pdf", "xlsx"]
    r = c.get("/v1/reports/monthly", params={"month": MONTH}, headers=officer)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    report = r.json()
    flow = next(t for s in report["sections"] for t in s["tables"] if t["id"] == "flow")
    assert flow["rows"][0][:2] == ["新受理 new", 2]
    html = c.get("/v1/reports/monthly", params={"month": MONTH, "format": "html"},
                 headers=officer)
    assert html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "投诉管理月报" in html.text and "<script" not in html.text
    table = c.get("/v1/reports/monthly", params={"month": MONTH, "format": "csv"},
                  headers=officer)
    assert table.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert rows[0][0] == "投诉管理月报 Monthly complaints report"
    book = c.get("/v1/reports/monthly", params={"month": MONTH, "format": "xlsx"},
                 headers=officer)
    assert book.content[:2] == b"PK" and 'filename="monthly-2026-11.xlsx"' in \
        book.headers["content-disposition"]
    for body in (r.text, html.text, table.content.decode("utf-8-sig")):
        assert "张三丰" not in body and "13812345678" not in body


def test_a_department_viewer_gets_its_own_department(service: Any, officer: dict[str, str],
                                                     key: Any) -> None:
    _register(service, officer, department="CT室")
    _register(service, officer, department="超声科")
    ct = key(service.app, "ct-room", roles=("nurse",), department="影像科")
    r = service.client.get("/v1/reports/monthly", params={"month": MONTH}, headers=ct)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["scope"]["en"] == "imaging department"
    units = next(t for s in data["sections"] for t in s["tables"] if t["id"] == "by_department")
    assert [row[0] for row in units["rows"]] == ["CT室 CT room"]
    other = service.client.get("/v1/reports/monthly", params={
        "month": MONTH, "department": "超声科"}, headers=ct)
    assert other.status_code == 403 and "imaging" in other.json()["detail"]


def test_bad_requests_are_problems_not_errors(service: Any, officer: dict[str, str],
                                             key: Any) -> None:
    c = service.client
    unknown = c.get("/v1/reports/annual", params={"month": MONTH}, headers=officer)
    assert unknown.status_code == 404 and "monthly" in unknown.json()["detail"]
    month = c.get("/v1/reports/monthly", params={"month": "2026-13"}, headers=officer)
    assert month.status_code == 422 and "YYYY-MM" in month.json()["detail"]
    zh = c.get("/v1/reports/monthly", params={"month": "2026-13"},
               headers={**officer, "Accept-Language": "zh-CN"})
    assert "月份" in zh.json()["detail"]
    fmt = c.get("/v1/reports/monthly", params={"month": MONTH, "format": "docx"},
                headers=officer)
    assert fmt.status_code == 422
    no_scope = key(service.app, "cases-only", scopes=("cases:read",))
    refused = c.get("/v1/reports", headers=no_scope)
    assert refused.status_code == 403 and "reports" in refused.json()["detail"]
    assert c.get("/v1/reports").status_code == 401
    ko41 = c.get("/v1/reports/ko41a", params={"month": MONTH, "months": 3, "format": "csv"},
                 headers=officer)
    assert ko41.status_code == 200 and "New complaints" in ko41.content.decode("utf-8-sig")
    assert json.loads(c.get("/v1/reports/hotline-monthly", params={"month": MONTH},
                            headers=officer).text)["report"] == "hotline-monthly"
