"""Matching a keyword table against free text, and the confidence of a suggestion.

The matching rules are described in :mod:`hc_keyword_classifier.keywords`. The confidence of a
category is :func:`confidence` of the number of *distinct* keywords of that category found in
the text: repeating one word does not make a suggestion surer, a second, different word does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from hospital_complaints.plugin_api import Category, CategorySuggestion

#: ``CategorySuggestion.source`` of every suggestion this plugin makes.
SOURCE = "keyword-classifier"

#: A keyword match is evidence, never proof: confidence approaches this value, never 1.
CEILING = 0.95

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# A negation directly before a keyword (one degree adverb may sit in between). "不" after
# "得" or "是" is not a negation of what follows: 不得不等了 (had to wait), 是不是坏了 (is it
# broken?).
_ZH_NEGATION = re.compile(r"(?:没有|没|未|无|(?<![得是])不)是?(?:太|很|那么|怎么|算)?$")
_EN_NEGATION = re.compile(r"(?:\b(?:not|no|never|without)|n't)\s+$", re.IGNORECASE)
_EN_ENDINGS = r"(?:s|es|ed|d|ing|ly|ness)?"
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_LOOKBACK = 8  # characters before a match inspected for a negation


def confidence(hits: int) -> float:
    """Confidence of a category supported by ``hits`` distinct keywords (``hits >= 1``).

    ``CEILING * (1 - 0.5 ** hits)``: 1 keyword gives 0.475, 2 give 0.7125, 3 give 0.83125,
    4 give 0.890625, and so on, strictly increasing towards 0.95. Always ``0 < c <= 1``.
    """
    if hits < 1:
        raise ValueError(f"confidence needs at least one matched keyword, got {hits}")
    return CEILING * (1.0 - 0.5**hits)


def normalize(text: str) -> str:
    """NFKC (full-width ``ＣＴ`` becomes ``CT``), and one kind of apostrophe."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)


def is_chinese(keyword: str) -> bool:
    """A keyword with a CJK character is matched as a substring, others as English words."""
    return _CJK.search(keyword) is not None


def _pattern(keyword: str) -> str:
    if is_chinese(keyword):
        return re.escape(keyword)
    prefix = keyword.endswith("*")
    stem = keyword[:-1] if prefix else keyword
    body = r"\s+".join(re.escape(part) for part in stem.split())
    ending = "[a-z]*" if prefix else _EN_ENDINGS
    return rf"(?<![a-z0-9]){body}{ending}(?![a-z0-9])"


def _negated(text: str, start: int, keyword: str) -> bool:
    before = text[max(0, start - _LOOKBACK):start]
    pattern = _ZH_NEGATION if is_chinese(keyword) else _EN_NEGATION
    return pattern.search(before) is not None


class KeywordClassifier:
    """A keyword table compiled once into a single pattern.

    >>> clf = KeywordClassifier({Category.EQUIPMENT_FAULT: ["坏了", "broken"]})
    >>> [(s.category.value, s.matched) for s in clf.classify("CT机又坏了")]
    [('equipment_fault', ['坏了'])]
    """

    def __init__(self, table: Mapping[Category, Iterable[str]]) -> None:
        categories: dict[str, list[Category]] = {}
        for category, words in table.items():
            if not isinstance(category, Category):
                raise TypeError(f"keyword table key {category!r} is not a Category")
            for word in words:
                keyword = normalize(word).strip()
                if not keyword or keyword == "*":
                    raise ValueError(f"empty keyword in category {category.value!r}")
                owners = categories.setdefault(keyword, [])
                if category not in owners:
                    owners.append(category)
        self._table = {c: tuple(ws) for c, ws in table.items()}
        # Longest first, so that at any position the longest keyword wins.
        self._keywords = sorted(categories, key=lambda k: (-len(k), k))
        self._categories = [tuple(categories[k]) for k in self._keywords]
        # One pattern per first character, tried only where a keyword can start: the same
        # leftmost, longest-first matching as one big alternation, without trying hundreds of
        # alternatives at every character of the text.
        # Each is compiled when a text first has its character (compiling all of a large
        # table costs a command's start-up more than most texts need).
        by_first: dict[str, list[int]] = {}
        for i, k in enumerate(self._keywords):
            by_first.setdefault(k[0].lower(), []).append(i)
        self._sources = {
            first: "|".join(f"(?P<k{i}>{_pattern(self._keywords[i])})" for i in indexes)
            for first, indexes in by_first.items()
        }
        self._compiled: dict[str, re.Pattern[str]] = {}
        # where the next keyword can start: a character of by_first, found in the lowered
        # text by one search instead of a step of the loop per character
        self._starts = re.compile("[" + "".join(re.escape(c) for c in sorted(by_first)) + "]"
                                  if by_first else "(?!)")  # (?!): no keyword, no start

    def _pattern_for(self, first: str) -> re.Pattern[str] | None:
        """The pattern of the keywords that start with ``first`` (compiled on first use)."""
        found = self._compiled.get(first)
        if found is None and first in self._sources:
            found = self._compiled[first] = re.compile(self._sources[first], re.IGNORECASE)
        return found

    def _match_any(self, text: str, pos: int) -> re.Match[str] | None:
        """The first pattern of any first character that matches at ``pos``."""
        for first in self._sources:
            pattern = self._pattern_for(first)
            found = pattern.match(text, pos) if pattern is not None else None
            if found is not None:
                return found
        return None

    @property
    def table(self) -> Mapping[Category, tuple[str, ...]]:
        """The table this classifier was built from."""
        return dict(self._table)

    def __len__(self) -> int:
        """The number of distinct keywords."""
        return len(self._keywords)

    def matches(self, text: str) -> dict[Category, list[str]]:
        """The distinct keywords found per category, in order of first appearance."""
        text = normalize(text)
        found: dict[Category, list[str]] = {}
        lowered = text.lower()
        compiled, pattern_for = self._compiled, self._pattern_for
        pos, end = 0, len(text)
        starts = self._starts.search if len(lowered) == end else None
        while pos < end:
            if starts is not None:  # skip to the next character a keyword starts with
                at = starts(lowered, pos)
                if at is None:
                    break
                pos = at.start()
            regex = (compiled.get(lowered[pos]) or pattern_for(lowered[pos])
                     if len(lowered) == end else None)
            m = regex.match(text, pos) if regex is not None else None
            if m is None:
                if regex is None and len(lowered) != end:  # rare: lower() changed the length
                    m = self._match_any(text, pos)
                if m is None:
                    pos += 1
                    continue
            pos = max(m.end(), pos + 1)
            assert m.lastgroup is not None  # every alternative is a named group
            index = int(m.lastgroup[1:])
            keyword = self._keywords[index]
            if _negated(text, m.start(), keyword):
                continue
            for category in self._categories[index]:
                words = found.setdefault(category, [])
                if keyword not in words:
                    words.append(keyword)
        return found

    def classify(self, text: str) -> list[CategorySuggestion]:
        """Suggestions for ``text``, highest confidence first (``[]`` when nothing matches).

        Ties are ordered as the categories are in :class:`Category`.
        """
        order = {c: i for i, c in enumerate(Category)}
        suggestions = [
            CategorySuggestion(category=category, confidence=confidence(len(words)),
                               matched=words, source=SOURCE)
            for category, words in self.matches(text).items()
        ]
        return sorted(suggestions, key=lambda s: (-s.confidence, order[s.category]))
