"""hospital-complaints-keyword-classifier: suggests complaint categories from keywords.

A plugin for ``hospital-complaints``, loaded through the entry point ``keyword_classifier``
(module :mod:`hc_keyword_classifier.plugin`). The same matching is available as plain
functions:

>>> [s.category.value for s in classify_text("等了两个小时，报告还没出")]
['process_management']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from hospital_complaints.plugin_api import lazy_exports

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import Category, CategorySuggestion

    from .keywords import DEFAULT_KEYWORDS
    from .matcher import CEILING, SOURCE, KeywordClassifier, confidence
    from .table import (
        KEYWORDS_FILE_ENV,
        configured_table,
        current_classifier,
        read_keyword_file,
    )

#: public name -> (module, attribute): imported on first use, so that loading the plugin
#: (the command line's start) does not import the matcher, the table or the domain
_WHERE: dict[str, tuple[str, str]] = {
    "DEFAULT_KEYWORDS": (".keywords", "DEFAULT_KEYWORDS"),
    "CEILING": (".matcher", "CEILING"),
    "SOURCE": (".matcher", "SOURCE"),
    "KeywordClassifier": (".matcher", "KeywordClassifier"),
    "confidence": (".matcher", "confidence"),
    "KEYWORDS_FILE_ENV": (".table", "KEYWORDS_FILE_ENV"),
    "configured_table": (".table", "configured_table"),
    "current_classifier": (".table", "current_classifier"),
    "read_keyword_file": (".table", "read_keyword_file"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())



def classify_text(
    text: str, table: Mapping[Category, Iterable[str]] | None = None
) -> list[CategorySuggestion]:
    """Suggestions for ``text``, highest confidence first; ``[]`` when nothing matches.

    :param text: any free text (Chinese, English or both).
    :param table: a keyword table to use instead of the configured one (the built-in table,
        changed by the file in ``HC_KEYWORDS_FILE`` if that is set).
    """
    from .matcher import KeywordClassifier
    from .table import current_classifier

    classifier = current_classifier() if table is None else KeywordClassifier(table)
    return classifier.classify(text)


__all__ = [
    "CEILING",
    "DEFAULT_KEYWORDS",
    "KEYWORDS_FILE_ENV",
    "SOURCE",
    "KeywordClassifier",
    "classify_text",
    "confidence",
    "configured_table",
    "current_classifier",
    "read_keyword_file",
]
