"""De-identification before DICOM files leave the hospital, burned-in text held back unless a
person confirms, and the record of every disclosure; viewer links instead of images."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hospital_complaints.plugin_api import ConfigError
from hospital_complaints.testing import complaint_draft, run_cli
from pydicom import dcmread
from pydicom.uid import generate_uid

from hc_dicom.deid import UidMapper, deidentify, text_risks
from hc_dicom.deid.deidentify import read
from hc_dicom.links import evidence_links, viewer_url
from hc_dicom.tables import tables


def _case(app: Any) -> str:
    return str(app.complaints.register(complaint_draft(received_at="2026-10-21T10:00:00+08:00"),
                                       actor="clerk").reference)


def _files(tmp_path: Path, image: Any, **extra: Any) -> list[Path]:
    study = generate_uid()
    paths = []
    for i in range(2):
        data = image("CT-PRIV-1", study_uid=study, patient_name="Zhang^Sanfeng",
                     patient_id="110101199001011234", extra={
                         "InstitutionName": "First People's Hospital",
                         "ReferringPhysicianName": "Li^Si", "OperatorsName": "Wang^Wu",
                         "PatientBirthDate": "19900101", "SeriesDescription": "Zhang chest",
                         **extra})
        path = tmp_path / f"zhang-sanfeng-{i}.dcm"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_files_are_de_identified_and_still_refer_to_each_other(tmp_path: Path,
                                                               image: Any) -> None:
    paths = _files(tmp_path, image)
    uids = UidMapper()
    originals = [read(p.read_bytes(), p.name) for p in paths]
    study = originals[0].StudyInstanceUID
    cleaned = []
    for ds in originals:
        ds.add_new(0x00091010, "LO", "private vendor data")
        removal = deidentify(ds, uids)
        cleaned.append(ds)
        done = {c.keyword: c.done for c in removal.changes}
        assert done["PatientName"] == "emptied" and done["PatientID"] == "dummy value"
        assert done["InstitutionName"] == "dummy value" and done["SeriesDescription"] == "removed"
        assert removal.private_removed == 1
        assert "Zhang" not in str(removal.as_dict())  # the record never holds a value
    for ds in cleaned:
        text = str(ds)
        for secret in ("Zhang", "110101199001011234", "Li^Si", "Wang^Wu", "First People",
                       "19900101", study):
            assert secret not in text
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert 0x00091010 not in ds
    assert cleaned[0].StudyInstanceUID == cleaned[1].StudyInstanceUID  # consistent
    assert cleaned[0].SOPInstanceUID != cleaned[1].SOPInstanceUID


@pytest.mark.parametrize("extra,held", [
    ({"BurnedInAnnotation": "YES"}, True),
    ({"Modality": "US"}, True),
    ({"Modality": "US", "BurnedInAnnotation": "NO"}, False),
    ({"RecognizableVisualFeatures": "YES", "BurnedInAnnotation": "NO"}, True),
    ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7"}, True),
    ({}, False),
])
def test_images_whose_pixels_may_show_text_are_held(image: Any, extra: dict[str, str],
                                                    held: bool) -> None:
    ds = dcmread(io.BytesIO(image("X1", extra=extra)))
    assert bool(text_risks(ds)) is held


def test_sharing_burned_in_images_needs_an_explicit_recorded_confirmation(
        tmp_path: Path, app_for: Any, image: Any) -> None:
    app = app_for(tmp_path / "db", viewer_url="https://viewer.example/v?StudyInstanceUIDs="
                  "{study_uid}")
    ref = _case(app)
    paths = _files(tmp_path, image, BurnedInAnnotation="YES")
    out = tmp_path / "out"
    base = ["dicom", "share", *map(str, paths), "--case", ref, "--to", "complainant",
            "--out", str(out), "--purpose", "complainant asked for the images",
            "--actor", "officer:zhao"]
    refused = run_cli(app, *base)
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "BurnedInAnnotation is YES" in refused.output and "未共享" in refused.output
    assert not out.exists()
    no_reason = run_cli(app, *base, "--confirm-burned-in")
    assert no_reason.exit_code == 1 and "--reason" in no_reason.output
    shared = run_cli(app, *base, "--confirm-burned-in", "--reason",
                     "looked at both: only the scale is burned in")
    assert shared.exit_code == 0, shared.output
    written = sorted(out.glob("*.dcm"))
    assert len(written) == 2 and all("zhang" not in p.name.lower() for p in written)
    for p in written:
        assert b"Zhang" not in p.read_bytes() and b"110101199001011234" not in p.read_bytes()
    listed = run_cli(app, "dicom", "disclosures", "--case", ref)
    rows = listed.output.strip().splitlines()
    assert len(rows) == 2
    assert '"outcome": "refused: images may carry text; no confirmation"' in rows[0]
    assert '"by": "officer:zhao"' in rows[1] and "only the scale" in rows[1]
    t = tables(app.store.prefix, app.store.schema).disclosures
    with app.store.read() as conn:
        stored = conn.execute(sa.select(t.c.details)).scalars().all()
    assert all("only the scale" not in d for d in stored)  # details are encrypted
    assert run_cli(app, "audit", "verify").exit_code == 0


def test_sharing_plain_images_and_bad_input(tmp_path: Path, app_for: Any,
                                            image: Any) -> None:
    app = app_for(tmp_path / "db")
    ref = _case(app)
    paths = _files(tmp_path, image)
    ok = run_cli(app, "dicom", "share", str(paths[0]), "--case", ref, "--to", "hotline",
                 "--out", str(tmp_path / "out"), "--purpose", "12345 platform asked",
                 "--actor", "officer:zhao")
    assert ok.exit_code == 0, ok.output
    not_dicom = tmp_path / "letter.txt"
    not_dicom.write_text("not an image", encoding="utf-8")
    bad = run_cli(app, "dicom", "share", str(not_dicom), "--case", ref, "--to", "export",
                  "--out", str(tmp_path / "out2"), "--purpose", "x", "--actor", "a")
    assert bad.exit_code == 1 and "not a DICOM file" in bad.output and "Traceback" not in \
        bad.output
    unknown = run_cli(app, "dicom", "share", str(paths[0]), "--case", "HC-20990101-9999",
                      "--to", "export", "--out", str(tmp_path / "o3"), "--purpose", "x",
                      "--actor", "a")
    assert unknown.exit_code == 1 and "HC-20990101-9999" in unknown.output


def test_the_evidence_link_opens_the_study_in_the_sites_viewer(tmp_path: Path,
                                                               app_for: Any) -> None:
    assert viewer_url("https://pacs.example/ui/app/#/filtered-studies?StudyInstanceUID="
                      "{study_uid}", study_uid="1.2.3", accession=None) == \
        "https://pacs.example/ui/app/#/filtered-studies?StudyInstanceUID=1.2.3"
    assert viewer_url("https://pacs.example/launch?acc={accession}", study_uid=None,
                      accession="CT 1/2") == "https://pacs.example/launch?acc=CT%201%2F2"
    assert viewer_url("https://v.example/?s={study_uid}", study_uid=None,
                      accession="A") is None
    app = app_for(tmp_path, viewer_url="https://ohif.example/viewer?StudyInstanceUIDs="
                  "{study_uid}")

    class Exam:
        accession_number = "CT-1"
        study_instance_uid = "1.2.840.1"

    links = evidence_links(Exam(), app)
    assert [x.url for x in links] == ["https://ohif.example/viewer?StudyInstanceUIDs=1.2.840.1"]
    assert "images are not copied" in links[0].label_en


@pytest.mark.parametrize("settings,needle", [
    ({"viewer_url": "ftp://x/{study_uid}"}, "HC_DICOM_VIEWER_URL"),
    ({"viewer_url": "https://x/{patient_name}"}, "HC_DICOM_VIEWER_URL"),
    ({"dicomweb_url": "http://pacs.hospital.example/dicom-web"}, "HC_DICOMWEB_URL"),
    ({"zone": "Moon/Base"}, "HC_DICOM_ZONE"),
    ({"ae_title": "A" * 17}, "HC_DICOM_AE_TITLE"),
    ({"worklist": "pacs"}, "HC_DICOM_WORKLIST"),
    ({"worklist_charset": "KLINGON"}, "HC_DICOM_WORKLIST_CHARSET"),
    ({"dicomweb_timeout": 0}, "HC_DICOMWEB_TIMEOUT"),
])
def test_bad_settings_stop_start_up_naming_the_variable(tmp_path: Path, app_for: Any,
                                                        settings: dict[str, Any],
                                                        needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        app_for(tmp_path, **settings).plugin_config("dicom")
    assert needle in info.value.en and info.value.zh


def test_secrets_never_print_and_auth_is_one_kind(tmp_path: Path, app_for: Any) -> None:
    from hc_dicom.qido import QidoClient
    from hc_dicom.settings import settings_of

    app = app_for(tmp_path, dicomweb_url="https://pacs.example/dicom-web",
                  dicomweb_user="u", dicomweb_password="pw-123", dicomweb_token="tok-456")
    settings = settings_of(app)
    assert "pw-123" not in repr(settings) and "tok-456" not in repr(settings)
    with pytest.raises(ConfigError) as info:
        QidoClient.from_settings(settings)
    assert "HC_DICOMWEB_TOKEN" in info.value.en and "pw-123" not in info.value.en


def test_a_disclosure_that_cannot_be_recorded_leaves_no_shared_file(
        tmp_path: Path, app_for: Any, image: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    share_module = importlib.import_module("hc_dicom.deid.share")  # the module, not share()

    app = app_for(tmp_path / "db")
    ref = _case(app)
    paths = _files(tmp_path, image)

    def database_down(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(share_module, "_record", database_down)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        share_module.share(app, ref, [(paths[0].name, paths[0].read_bytes())],
                           destination="hotline", actor="officer:zhao",
                           purpose="12345 platform asked", out_dir=out)
    assert list(out.iterdir()) == []  # nothing shared without its record
