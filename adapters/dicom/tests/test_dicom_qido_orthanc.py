"""QIDO-RS against a real Orthanc: wildcard, exact, date-range and paged queries, auth,
retries, and the queries that would fail in silence."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import pytest
import requests
from pydicom import Dataset

from hc_dicom.errors import DicomWebError, QueryError
from hc_dicom.qido import QidoClient, build_query
from hc_dicom.studies import SERIES_FIELDS, read_series

pytestmark = pytest.mark.peer("orthanc")


def _tag() -> str:
    return uuid4().hex[:6].upper()


def test_wildcard_exact_and_date_queries_find_what_a_user_asks_for(orthanc: Any,
                                                                   image: Any) -> None:
    t = _tag()
    orthanc.upload(image(f"W{t}-1", study_date="20260301", station="CT 3"))
    orthanc.upload(image(f"W{t}-2", study_date="20260302", station="CT2"))
    orthanc.upload(image(f"W{t}-3", study_date="20260305", station="MR1", modality="MR"))
    with QidoClient(orthanc.dicomweb) as client:
        def accessions(path: str, **filters: str) -> set[str]:
            return {r["00080050"]["Value"][0] for r in client.search(path, filters)}

        assert accessions("studies", AccessionNumber=f"W{t}-*") == {
            f"W{t}-1", f"W{t}-2", f"W{t}-3"}
        assert accessions("studies", AccessionNumber=f"W{t}-2") == {f"W{t}-2"}
        assert accessions("studies", AccessionNumber=f"W{t}-?") == {
            f"W{t}-1", f"W{t}-2", f"W{t}-3"}
        assert accessions("studies", AccessionNumber=f"W{t}-*",
                          StudyDate="20260301-20260302") == {f"W{t}-1", f"W{t}-2"}
        assert accessions("studies", AccessionNumber=f"W{t}-*",
                          StudyDate="20260305") == {f"W{t}-3"}
        # a station with a space is reachable with ? in its place
        found = list(client.search("series", {"AccessionNumber": f"W{t}-*",
                                              "StationName": "CT?3"}, ["StationName"]))
        assert [r["00081010"]["Value"][0] for r in found] == ["CT 3"]


def test_percent_encoded_wildcards_find_nothing_on_orthanc_which_is_why_we_build_the_query(
        orthanc: Any, image: Any) -> None:
    t = _tag()
    orthanc.upload(image(f"P{t}-1"))
    url = f"{orthanc.dicomweb}/studies"
    # what requests' params= (and dicomweb-client) send: the wildcard as %2A
    encoded = requests.get(url, params={"AccessionNumber": f"P{t}-*"}, timeout=10)
    assert "%2A" in encoded.url and encoded.json() == []
    with QidoClient(orthanc.dicomweb) as client:
        assert len(list(client.search("studies", {"AccessionNumber": f"P{t}-*"}))) == 1


def test_paging_reads_every_study_exactly_once(orthanc: Any, image: Any) -> None:
    t = _tag()
    for i in range(23):
        orthanc.upload(image(f"G{t}-{i:02d}", study_date="20260410"))
    with QidoClient(orthanc.dicomweb, page_size=10) as client:
        pages = list(client.pages("studies", {"AccessionNumber": f"G{t}-*"}))
        assert [len(p) for p in pages] == [10, 10, 3]
        uids = [r["0020000D"]["Value"][0] for p in pages for r in p]
        assert len(uids) == len(set(uids)) == 23
        assert client.requests == 3


@pytest.mark.parametrize("filters,needle", [
    ({"StudyDate": "2026-10-21"}, "YYYYMMDD"),
    ({"AccesionNumber": "CT1"}, "not a DICOM attribute keyword"),
    ({"StationName": "CT 3"}, "put ? (any one character)"),
    ({"PatientName": "张^三"}, "only ASCII"),
    ({"AccessionNumber": "A,B"}, "comma"),
    ({"AccessionNumber": "A&limit=1"}, "percent-encoded"),
    ({"AccessionNumber": ""}, "empty value"),
])
def test_queries_that_a_server_would_answer_with_silence_are_refused_in_both_languages(
        filters: dict[str, str], needle: str) -> None:
    with pytest.raises(QueryError) as info:
        build_query(filters)
    assert needle in info.value.en
    assert info.value.zh and "QIDO" in info.value.zh


def test_basic_auth_is_sent_and_a_refusal_names_the_settings(orthanc_auth: Any,
                                                             image: Any) -> None:
    t = _tag()
    orthanc_auth.upload(image(f"A{t}-1"))
    with QidoClient(orthanc_auth.dicomweb, auth=("radiology", "s3cret-pw")) as client:
        assert len(list(client.search("studies", {"AccessionNumber": f"A{t}-1"}))) == 1
    with QidoClient(orthanc_auth.dicomweb, auth=("radiology", "wrong")) as client, \
            pytest.raises(DicomWebError) as info:
        list(client.search("studies", {"AccessionNumber": f"A{t}-1"}))
    assert info.value.status == 401 and "HC_DICOMWEB_USER" in info.value.en
    assert "认证" in (info.value.zh or "")


def test_the_fast_reader_reads_what_pydicom_reads(orthanc: Any, image: Any) -> None:
    t = _tag()
    orthanc.upload(image(f"F{t}-1", series_date="20261021", series_time="083512.25",
                         pps_date="20261021", pps_time="0832", station="CT 3",
                         tz_offset="+0100"))
    orthanc.upload(image(f"F{t}-2", station="DX1", modality="DX"))
    with QidoClient(orthanc.dicomweb) as client:
        results = list(client.search("series", {"AccessionNumber": f"F{t}-*"},
                                     SERIES_FIELDS))
    assert len(results) == 2
    from zoneinfo import ZoneInfo

    from hc_dicom.times import combine, parse_offset
    zone = ZoneInfo("Asia/Shanghai")
    for obj in results:
        ours = read_series(obj, zone)
        ds = Dataset.from_json(obj)
        assert ours.modality == ds.Modality and ours.station == ds.StationName
        assert ours.series_uid == ds.SeriesInstanceUID
        offset = parse_offset(ds.get("TimezoneOffsetFromUTC"))
        assert ours.pps_start == combine(
            ds.get("PerformedProcedureStepStartDate"), ds.get("PerformedProcedureStepStartTime"),
            zone=zone, offset=offset, date_attribute="d", time_attribute="t")
        assert ours.series_time == combine(ds.get("SeriesDate"), ds.get("SeriesTime"),
                                           zone=zone, offset=offset, date_attribute="d",
                                           time_attribute="t")


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 (Retry-After 0) twice, then one study."""

    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        if type(self).calls <= 2:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        body = json.dumps([{"0020000D": {"vr": "UI", "Value": ["1.2.3"]}}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_busy_server_is_retried_and_an_unreachable_one_is_a_clear_error() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
        with QidoClient(base, retries=3, sleep=lambda s: None) as client:
            assert len(client.get_json("studies")) == 1
            assert client.requests == 3
    finally:
        server.shutdown()
        server.server_close()
    with QidoClient(base, retries=1, timeout=2, sleep=lambda s: None) as client, \
            pytest.raises(DicomWebError) as info:
        client.get_json("studies")
    assert "after 2 attempts" in info.value.en and "HC_DICOMWEB_URL" in info.value.en


def test_dicomweb_client_agrees_on_exact_queries_and_fails_on_wildcards(orthanc: Any,
                                                                         image: Any) -> None:
    """Where dicomweb-client behaves (exact and date-range values) it finds what we find; a
    wildcard it sends as %2A, which Orthanc never matches: why the sync builds its own."""
    from dicomweb_client.api import DICOMwebClient

    t = _tag()
    for i in range(3):
        orthanc.upload(image(f"D{t}-{i}", study_date="20260601"))
    theirs = DICOMwebClient(url=orthanc.dicomweb)
    exact = theirs.search_for_studies(search_filters={"AccessionNumber": f"D{t}-1",
                                                      "StudyDate": "20260601-20260602"})
    with QidoClient(orthanc.dicomweb) as client:
        ours = list(client.search("studies", {"AccessionNumber": f"D{t}-1",
                                              "StudyDate": "20260601-20260602"}))
        wild = list(client.search("studies", {"AccessionNumber": f"D{t}-*"}))
    assert [r["0020000D"]["Value"] for r in exact] == [r["0020000D"]["Value"] for r in ours]
    assert len(wild) == 3
    assert theirs.search_for_studies(search_filters={"AccessionNumber": f"D{t}-*"}) == []
