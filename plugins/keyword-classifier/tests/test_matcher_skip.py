"""The matcher skips to the next character a keyword can start with: it finds what a step
through every character finds (the reference below), on texts mixing keywords, negations,
other scripts and characters whose lower case is longer (İ)."""

from __future__ import annotations

import random
import re

from hc_keyword_classifier.matcher import KeywordClassifier, _negated, normalize
from hc_keyword_classifier.table import DEFAULT_KEYWORDS


def stepwise(c: KeywordClassifier, text: str) -> dict[object, list[str]]:
    """Every position in turn: the longest keyword starting there, unless negated."""
    text = normalize(text)
    found: dict[object, list[str]] = {}
    patterns = [re.compile(source, re.IGNORECASE) for source in c._sources.values()]
    pos = 0
    while pos < len(text):
        m = next((m for m in (r.match(text, pos) for r in patterns) if m), None)
        longest = None
        if m is not None:  # the longest of every pattern's match here
            longest = max((m for m in (r.match(text, pos) for r in patterns) if m),
                          key=lambda m: m.end() - m.start())
        if longest is None:
            pos += 1
            continue
        pos = max(longest.end(), pos + 1)
        assert longest.lastgroup is not None
        index = int(longest.lastgroup[1:])
        keyword = c._keywords[index]
        if _negated(text, longest.start(), keyword):
            continue
        for category in c._categories[index]:
            words = found.setdefault(category, [])
            if keyword not in words:
                words.append(keyword)
    return found


def test_skipping_finds_what_a_step_per_character_finds() -> None:
    c = KeywordClassifier(DEFAULT_KEYWORDS)
    words = [w for ws in DEFAULT_KEYWORDS.values() for w in ws]
    filler = [*"的了不没有很是在 ,.!?ABCxyzßΣς", "İ", "不", "没", "未", "无", "非常", "CT", "MR"]
    rnd = random.Random(17)
    for _ in range(3000):
        text = "".join(rnd.choice(words) if rnd.random() < 0.3 else rnd.choice(filler)
                       for _ in range(rnd.randrange(0, 30)))
        assert c.matches(text) == stepwise(c, text), text


def test_a_classifier_without_keywords_finds_nothing() -> None:
    assert KeywordClassifier({}).matches("CT 等了两个小时，态度很差") == {}


def test_patterns_are_compiled_for_the_characters_texts_have() -> None:
    """Building the classifier compiles nothing; classifying compiles the patterns of the
    characters where a keyword could start in that text, and the rest stay uncompiled."""
    c = KeywordClassifier(DEFAULT_KEYWORDS)
    assert c._compiled == {}
    assert [s.category.value for s in c.classify("CT机又坏了")] == ["equipment_fault"]
    assert c._compiled and set(c._compiled) <= set("ct机又坏了")
    assert len(c._compiled) < len(c._sources) / 10
