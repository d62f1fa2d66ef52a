"""``exams suggest`` knows modality aliases: DR/CR/DX and 胸片, CT and 平扫, MR/MRI/核磁/磁共振,
US/B超/彩超 ... from a documented table a site can extend."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hospital_complaints.correlation import (
    MODALITY_WORDS,
    ExamRecord,
    InMemoryImagingRepository,
    ModalityAliases,
    suggest_exams,
)
from hospital_complaints.domain.complaint import Complaint
from hospital_complaints.errors import InvalidInput
from hospital_complaints.settings import ImagingSettings

TZ = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 11, 16, 18, 0, tzinfo=TZ)


def complaint(text: str, **extra: object) -> Complaint:
    return Complaint(reference="HC-20261116-0001", channel="front_desk", received_at=RECEIVED,
                     complainant={"role": "patient"}, patient={"patient_id": "P77"},
                     subject=text, description=text, **extra)


@pytest.fixture
def repo() -> InMemoryImagingRepository:
    r = InMemoryImagingRepository(tz=TZ)
    at = RECEIVED - timedelta(hours=6)
    r.add_exams([ExamRecord(acc, modality=mod, station=st, patient_id="P77", started_at=at)
                 for acc, mod, st in (("X-DR", "DR", "DR1"), ("X-CR", "CR", "CR1"),
                                      ("X-CT", "CT", "CT1"), ("X-MR", "MR", "MR1"),
                                      ("X-US", "US", "US2"))])
    return r


@pytest.mark.parametrize(("text", "first"), [
    ("拍胸片等了很久", {"X-DR", "X-CR"}),
    ("做DR的时候态度不好", {"X-DR", "X-CR"}),
    ("CT平扫排队太久", {"X-CT"}),
    ("核磁共振预约改了三次", {"X-MR"}),
    ("the MRI was late", {"X-MR"}),
    ("做彩超的医生很粗鲁", {"X-US"}),
    ("B超报告拿不到", {"X-US"}),
])
def test_complaint_words_find_the_exam(repo: InMemoryImagingRepository, text: str,
                                       first: set[str]) -> None:
    found = suggest_exams(repo, complaint(text))
    best = found[0].score
    assert {s.exam.accession_number for s in found if s.score == best} == first
    assert any("named in the complaint" in r for r in found[0].reasons)


def test_whole_words_only_for_latin_letters() -> None:
    aliases = ModalityAliases()
    assert aliases.named("Mrs Wang waited") == {}
    assert set(aliases.named("mri, ct and pet-ct")) == {"MR", "CT", "PT"}
    assert (aliases.family("cr"), aliases.family("NMR"), aliases.family("OT")) == (
        "DX", "MR", "OT")


def test_the_link_modality_counts_too(repo: InMemoryImagingRepository) -> None:
    found = suggest_exams(repo, complaint("等太久", exam_links=[{"study_instance_uid": "1.2",
                                                                "modality": "CR"}]))
    assert {found[0].exam.accession_number, found[1].exam.accession_number} == {"X-DR", "X-CR"}


def test_a_site_extends_the_table(repo: InMemoryImagingRepository) -> None:
    assert suggest_exams(repo, complaint("做128排等太久"))[0].score < 3
    site = ModalityAliases().extended({"CT": ["128排"], "hx": ["某检查"]})
    assert suggest_exams(repo, complaint("做128排等太久"), aliases=site)[0].exam.accession_number \
        == "X-CT"
    assert site.family("HX") == "HX" and site.named("某检查") == {"HX": "某检查"}
    assert MODALITY_WORDS["CT"] == ModalityAliases().words["CT"]  # the built-in is unchanged
    with pytest.raises(InvalidInput, match="modality_words"):
        ModalityAliases().extended({"C7": ["x"], "CT": [""]})


def test_from_settings() -> None:
    assert ModalityAliases.from_settings(ImagingSettings()) == ModalityAliases()
    extra = type("Imaging", (), {"modality_words": {"DX": ["摄影"]}})()
    assert "摄影" in ModalityAliases.from_settings(extra).words["DX"]


def test_the_settings_file_extends_the_table_of_exams_suggest(tmp_path, clock, plugins) -> None:  # type: ignore[no-untyped-def]
    from hospital_complaints import bootstrap
    from hospital_complaints.settings import DatabaseSettings, Settings

    path = tmp_path / "hc.toml"
    path.write_text('[imaging.modality_words]\nct = [" 128排 "]\n', encoding="utf-8")
    settings = Settings.load({"HC_SETTINGS_FILE": str(path)})
    assert settings.imaging.modality_words == {"CT": ("128排",)}
    app = bootstrap(settings.model_copy(update={"database": DatabaseSettings(url="memory://")}),
                    clock=clock, plugins=plugins)
    assert "128排" in app.imaging.modality_aliases.words["CT"]
    assert "胸片" in app.imaging.modality_aliases.words["DX"]  # the built-in table stays


@pytest.mark.parametrize(("toml", "needle"), [
    ('C7 = ["x"]', "modality code of 2-4 letters"),
    ('CT = [""]', "words of 1-40 characters for CT"),
    ('CT = "128排"', "modality_words"),
])
def test_bad_modality_words_name_the_key_in_both_languages(tmp_path, toml: str,  # type: ignore[no-untyped-def]
                                                          needle: str) -> None:
    from hospital_complaints.errors import ConfigError
    from hospital_complaints.settings import Settings

    path = tmp_path / "hc.toml"
    path.write_text(f"[imaging.modality_words]\n{toml}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Settings.load({"HC_SETTINGS_FILE": str(path)})
    assert needle in info.value.en and "imaging.modality_words" in info.value.en
    assert "配置错误" in info.value.zh
