"""Unit tests: the keyword table, matching, confidence, and a site's keyword file."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hospital_complaints.domain.taxonomy import Category
from hospital_complaints.errors import ConfigError

from hc_keyword_classifier import (
    DEFAULT_KEYWORDS,
    KEYWORDS_FILE_ENV,
    SOURCE,
    KeywordClassifier,
    classify_text,
    confidence,
    read_keyword_file,
)
from hc_keyword_classifier.__main__ import main

PM = Category.PROCESS_MANAGEMENT
SA = Category.SERVICE_ATTITUDE
EF = Category.EQUIPMENT_FAULT
TQ = Category.TECHNICAL_QUALITY
CO = Category.COMMUNICATION
PR = Category.PRIVACY
PS = Category.PATIENT_SAFETY


@pytest.fixture(autouse=True)
def _no_site_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYWORDS_FILE_ENV, raising=False)


def found(text: str) -> dict[Category, list[str]]:
    return {s.category: s.matched for s in classify_text(text)}


# -- the built-in table ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "category", "words"), [
    ("CT室排队等了三个小时", PM, ["排队", "等了"]),
    ("核磁共振预约不上，一直往后推迟", PM, ["预约不上", "推迟"]),
    ("增强CT做完一周了报告出得慢，去了两次都拿不到报告", PM, ["报告出得慢", "拿不到报告"]),
    ("登记处护士很不耐烦，说话很凶", SA, ["不耐烦", "凶"]),
    ("DR机器坏了，说是设备故障要等维修", EF, ["机器", "坏了", "设备", "故障", "维修"]),
    ("B超做到一半电脑死机了", EF, ["死机"]),
    ("CT报告写错了左右，疑似误诊", TQ, ["报告写错", "误诊"]),
    ("片子不清楚，要求重拍", TQ, ["片子不清", "重拍"]),
    ("增强CT前没解释要打造影剂，医生说的话听不懂", CO, ["没解释", "听不懂"]),
    ("做完检查就接到推销电话，隐私被泄露", PR, ["推销电话", "隐私", "泄露"]),
    ("打了造影剂后过敏，起疹子", PS, ["造影剂", "过敏", "起疹子"]),
    ("担心辐射太大", PS, ["辐射"]),
])
def test_chinese_complaints_map_to_their_category(text: str, category: Category,
                                                  words: list[str]) -> None:
    assert found(text)[category] == words


@pytest.mark.parametrize(("text", "category", "words"), [
    ("We waited two hours in the queue for the MRI", PM, ["wait", "queu*"]),
    ("The receptionist was RUDE and impolite", SA, ["rude", "impolite"]),
    ("The CT machine was broken, the kiosk out of order", EF,
     ["machine", "broken", "kiosk", "out of order"]),
    ("My report was wrong - a clear misdiagnosis", TQ, ["report was wrong", "misdiagnos*"]),
    ("Nobody explained the procedure. Please explain.", CO, ["nobody explained", "explain"]),
    ("My scan results were leaked: a privacy breach", PR, ["leak*", "privacy", "breach"]),
    ("Severe contrast reaction, and too much radiation", PS,
     ["contrast reaction", "radiation"]),
])
def test_english_complaints_map_to_their_category(text: str, category: Category,
                                                  words: list[str]) -> None:
    assert found(text)[category] == words


def test_mixed_complaint_gives_one_suggestion_per_category_highest_first() -> None:
    suggestions = classify_text("MR机器坏了，等了两个小时，技师态度恶劣还不耐烦，也没解释原因")
    assert {s.category for s in suggestions} == {EF, PM, SA, CO}
    assert [s.confidence for s in suggestions] == sorted(
        (s.confidence for s in suggestions), reverse=True)
    assert suggestions[0].category is SA  # 态度恶劣 + 不耐烦: the most words
    assert all(s.source == SOURCE == "keyword-classifier" for s in suggestions)


def test_no_keyword_gives_no_suggestion() -> None:
    assert classify_text("请问周六可以做胸片吗？ Is the department open on Saturday?") == []


def test_every_builtin_keyword_is_found_in_its_own_category() -> None:
    # Catches a keyword that can never match (shadowed, or a broken English pattern).
    for category, words in DEFAULT_KEYWORDS.items():
        for word in words:
            text = word.rstrip("*")
            assert word in found(text).get(category, []), (category, word)


def test_no_builtin_keyword_is_in_two_categories() -> None:
    seen: dict[str, Category] = {}
    for category, words in DEFAULT_KEYWORDS.items():
        for word in words:
            assert seen.setdefault(word, category) is category, (word, seen[word], category)


def test_other_has_no_builtin_keywords() -> None:
    assert Category.OTHER not in DEFAULT_KEYWORDS


# -- matching rules ------------------------------------------------------------------------


def test_english_matches_whole_words_only() -> None:
    assert found("a prudent, crude remark") == {}
    assert found("the waiter brought water") == {}
    assert found("she spoke rudely") == {SA: ["rude"]}


def test_english_is_case_insensitive_and_full_width_is_normalised() -> None:
    assert found("ＢＲＯＫＥＮ Machine") == {EF: ["broken", "machine"]}


def test_chinese_matches_inside_longer_text_and_next_to_english() -> None:
    assert found("我做的CT机又坏了") == {EF: ["坏了"]}
    assert found("那台machine坏了") == {EF: ["machine", "坏了"]}


def test_longest_keyword_wins_where_keywords_overlap() -> None:
    assert found("延误病情") == {PS: ["延误病情"]}  # not also 延误 (process management)
    assert found("radiation leak") == {PS: ["radiation leak"]}  # not also leak (privacy)


def test_a_negated_keyword_is_ignored() -> None:
    assert found("设备没有故障") == {EF: ["设备"]}
    assert found("医生并不凶") == {}
    assert found("the staff were not rude") == {}
    assert found("there was no queue") == {}


def test_a_negation_that_is_the_complaint_still_counts() -> None:
    assert found("医生没解释，也没有沟通") == {CO: ["没解释", "没有沟通"]}
    assert found("they didn't explain anything") == {CO: ["didn't explain"]}
    assert found("不得不等了一上午") == {PM: ["等了"]}  # 不得不: had to


def test_repeating_a_keyword_counts_once() -> None:
    assert found("等了又等了，还是等了") == {PM: ["等了"]}


# -- confidence ----------------------------------------------------------------------------


def test_confidence_is_between_0_and_1_and_strictly_increasing() -> None:
    values = [confidence(n) for n in range(1, 51)]
    assert all(0 < c <= 1 for c in values)
    assert all(a < b for a, b in pairwise(values))
    assert confidence(1) == pytest.approx(0.475)


def test_confidence_needs_a_hit() -> None:
    with pytest.raises(ValueError, match="at least one"):
        confidence(0)


def test_more_distinct_keywords_give_higher_confidence() -> None:
    one, two, three = (
        classify_text(t)[0] for t in ("排队", "排队等了", "排队等了太久"))
    assert one.confidence < two.confidence < three.confidence
    assert three.matched == ["排队", "等了", "太久"]


# -- classifier built from code -------------------------------------------------------------


def test_classifier_from_own_table() -> None:
    clf = KeywordClassifier({Category.OTHER: ["停车难", "parking"]})
    assert len(clf) == 2
    assert [(s.category, s.matched) for s in clf.classify("Parking: 停车难")] == [
        (Category.OTHER, ["parking", "停车难"])]
    assert clf.classify("等了三个小时") == []


def test_classifier_rejects_empty_keyword() -> None:
    with pytest.raises(ValueError, match="empty keyword"):
        KeywordClassifier({PM: ["  "]})


# -- a site's keyword file -----------------------------------------------------------------


def write(tmp_path: Path, data: Any, name: str = "keywords.json") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def test_keyword_file_extends_the_table(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert found("候诊区没有座位，停车难") == {}
    path = write(tmp_path, {"extend": {"process_management": ["没有座位"], "other": ["停车难"]}})
    monkeypatch.setenv(KEYWORDS_FILE_ENV, str(path))
    assert found("候诊区没有座位，停车难") == {PM: ["没有座位"], Category.OTHER: ["停车难"]}
    assert found("CT机坏了") == {EF: ["坏了"]}  # the built-in keywords are still there


def test_keyword_file_replaces_and_removes(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, {"replace": {"equipment_fault": ["机器故障"]},
                            "remove": {"service_attitude": ["态度"]}})
    monkeypatch.setenv(KEYWORDS_FILE_ENV, str(path))
    assert found("机器故障，坏了，态度很好") == {EF: ["机器故障"]}


def test_edited_keyword_file_is_read_again(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, {"extend": {"other": ["停车难"]}})
    monkeypatch.setenv(KEYWORDS_FILE_ENV, str(path))
    assert found("停车场太小") == {}
    write(tmp_path, {"extend": {"other": ["停车难", "停车场"]}})
    assert found("停车场太小") == {Category.OTHER: ["停车场"]}


def test_keyword_file_with_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "notepad.json"
    path.write_bytes(json.dumps({"extend": {"other": ["停车难"]}}).encode("utf-8-sig"))
    assert "停车难" in read_keyword_file(path)[Category.OTHER]


@pytest.mark.parametrize(("content", "problem"), [
    ('{"extend": {"process_management": ["排队",]}}', "is not valid JSON"),
    ('["排队"]', "top level must be a JSON object"),
    ({"add": {"other": ["x"]}}, "unknown section 'add'; allowed: replace, remove, extend"),
    ({"extend": {"waiting": ["排队"]}}, "extend.waiting: 'waiting' is not a category; one of: "),
    ({"extend": {"other": "停车难"}}, "extend.other must be a list of keywords, got str"),
    ({"extend": {"other": ["停车难", 3]}}, "extend.other[1]: a keyword is a string, got int 3"),
    ({"extend": {"other": [" "]}}, "extend.other[0]: a keyword must not be empty"),
    ({"extend": {"other": ["停车*"]}}, "'*' is only allowed at the end of an English keyword"),
    ({"remove": {"service_attitude": ["态渡"]}},
     "remove.service_attitude: '态渡' is not a keyword of that category"),
])
def test_bad_keyword_file_names_the_file_and_the_problem(tmp_path: Path, content: Any,
                                                         problem: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as info:
        read_keyword_file(path)
    assert str(path) in info.value.en
    assert KEYWORDS_FILE_ENV in info.value.en
    assert problem in info.value.en


def test_bad_keyword_file_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, {"extend": {"waiting": ["排队"], "other": [1]}, "add": {}})
    with pytest.raises(ConfigError) as info:
        read_keyword_file(path)
    assert info.value.en.count("\n  - ") == 3


def test_missing_keyword_file_named_in_environment(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.json"
    monkeypatch.setenv(KEYWORDS_FILE_ENV, str(missing))
    with pytest.raises(ConfigError, match="the file does not exist") as info:
        classify_text("排队")
    assert str(missing) in str(info.value)


def test_keyword_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.json"
    path.write_bytes('{"extend": {"other": ["停车难"]}}'.encode("gbk"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        read_keyword_file(path)


# -- python -m hc_keyword_classifier ---------------------------------------------------------


def test_check_command_accepts_a_good_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {"extend": {"other": ["停车难"]}})
    assert main(["check", str(path)]) == 0
    assert "other" in capsys.readouterr().out


def test_check_command_rejects_a_bad_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {"extend": {"waiting": ["排队"]}})
    assert main(["check", str(path)]) == 2
    assert "'waiting' is not a category" in capsys.readouterr().err


def test_classify_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "the machine was broken"]) == 0
    assert "equipment_fault" in capsys.readouterr().out
