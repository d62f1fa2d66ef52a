"""A site's own keywords: the JSON file named in ``HC_KEYWORDS_FILE``.

The file is UTF-8 JSON (a byte-order mark is accepted) with up to three sections, each mapping
a category value to a list of keywords::

    {
      "replace": {"equipment_fault": ["机器坏了", "设备故障", "broken"]},
      "remove":  {"service_attitude": ["态度"]},
      "extend":  {"process_management": ["叫号屏不显示", "等候区没座位"],
                  "other": ["停车难", "parking"]}
    }

- ``replace`` swaps a category's whole built-in list for the one given,
- ``remove`` drops single built-in keywords (a word that is not in the table is an error, so a
  typo does not go unnoticed),
- ``extend`` adds keywords,

applied in that order. Categories are the values of
:class:`hospital_complaints.domain.taxonomy.Category`. Keywords follow the matching rules in
:mod:`hc_keyword_classifier.keywords` (``*`` only at the end of an English keyword).

Any problem raises :class:`hospital_complaints.errors.ConfigError` naming the file and every
problem found. The file is read when a complaint is first classified and read again whenever
it changes; check it beforehand with ``python -m hc_keyword_classifier check``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from hospital_complaints.plugin_api import Category, ConfigError, PluginSettings, Settings, allowed
from pydantic import BaseModel, ConfigDict

from .keywords import DEFAULT_KEYWORDS
from .matcher import KeywordClassifier, is_chinese

#: The environment variable naming a site's keyword file.
KEYWORDS_FILE_ENV = "HC_KEYWORDS_FILE"

SECTIONS = ("replace", "remove", "extend")
MAX_KEYWORD_LENGTH = 100


def read_keyword_file(
    path: str | os.PathLike[str],
    base: Mapping[Category, Sequence[str]] = DEFAULT_KEYWORDS,
) -> dict[Category, tuple[str, ...]]:
    """``base`` with the changes of the keyword file at ``path`` applied."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise _error(path, ["the file does not exist"]) from None
    except OSError as exc:
        raise _error(path, [f"cannot be read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise _error(path, [f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"]) from None
    except json.JSONDecodeError as exc:
        raise _error(path, [f"is not valid JSON: {exc.msg} at line {exc.lineno} column "
                            f"{exc.colno}"]) from None

    problems: list[str] = []
    sections = _sections(data, problems)
    table = {category: list(words) for category, words in base.items()}
    for category, words in sections.get("replace", {}).items():
        table[category] = list(words)
    for category, words in sections.get("remove", {}).items():
        present = table.get(category, [])
        for word in words:
            if word in present:
                present.remove(word)
            else:
                problems.append(f"remove.{category.value}: {word!r} is not a keyword of that "
                                "category, so it cannot be removed")
    for category, words in sections.get("extend", {}).items():
        current = table.setdefault(category, [])
        current.extend(w for w in words if w not in current)
    if problems:
        raise _error(path, problems)
    return {category: tuple(words) for category, words in table.items() if words}


class KeywordSettings(BaseModel):
    """The plugin's settings section: ``[plugins.keyword_classifier]`` or ``HC_KEYWORDS_FILE``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords_file: str | None = None


DECLARATION = PluginSettings(id="keyword_classifier", model=KeywordSettings,
                             env={"keywords_file": KEYWORDS_FILE_ENV},
                             description="keyword classifier: the site's keyword file")


def site_keywords_file(environ: Mapping[str, str] | None = None) -> str | None:
    """The keyword file the settings name (``HC_KEYWORDS_FILE``, read by the core's settings
    loader), for callers without an application (``classify_text``, the check tool)."""
    settings = Settings.load(environ, plugin_env={KEYWORDS_FILE_ENV: (DECLARATION.id,
                                                                        "keywords_file")})
    name = settings.plugin_section(DECLARATION.id).get("keywords_file")
    return str(name).strip() or None if name else None


def configured_table(keywords_file: str | Path | None = None) -> dict[Category, tuple[str, ...]]:
    """The built-in table, changed by ``keywords_file`` (default: the configured one)."""
    name = str(keywords_file) if keywords_file else site_keywords_file()
    if not name:
        return dict(DEFAULT_KEYWORDS)
    return read_keyword_file(name)


def current_classifier(keywords_file: str | Path | None = None, *,
                       configured: bool = True) -> KeywordClassifier:
    """The classifier for ``keywords_file`` (or, with ``configured``, the configured file);
    rebuilt only when the file changes."""
    name = str(keywords_file) if keywords_file else (
        site_keywords_file() if configured else None)
    if not name:
        return _classifier(None, 0, 0)
    path = Path(name).resolve()
    try:
        stat = path.stat()
    except OSError:
        # Read it anyway: read_keyword_file() explains what is wrong with it.
        return KeywordClassifier(read_keyword_file(path))
    return _classifier(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _classifier(path: str | None, mtime_ns: int, size: int) -> KeywordClassifier:
    # mtime_ns and size are part of the cache key: an edited file is read again.
    if path is None:
        return KeywordClassifier(DEFAULT_KEYWORDS)
    return KeywordClassifier(read_keyword_file(path))


def _sections(data: Any, problems: list[str]) -> dict[str, dict[Category, list[str]]]:
    """The file's sections, validated. Problems are appended to ``problems``."""
    if not isinstance(data, dict):
        problems.append(f"the top level must be a JSON object with any of {list(SECTIONS)}, "
                        f"got {type(data).__name__}")
        return {}
    for key in data:
        if key not in SECTIONS:
            problems.append(f"unknown section {key!r}; allowed: {', '.join(SECTIONS)}")
    sections: dict[str, dict[Category, list[str]]] = {}
    for section in SECTIONS:
        if section not in data:
            continue
        body = data[section]
        if not isinstance(body, dict):
            problems.append(f"{section} must be an object mapping a category to a list of "
                            f"keywords, got {type(body).__name__}")
            continue
        parsed: dict[Category, list[str]] = {}
        for key, words in body.items():
            where = f"{section}.{key}"
            try:
                category = Category(key)
            except ValueError:
                problems.append(f"{where}: {key!r} is not a category; {allowed(Category)}")
                continue
            parsed[category] = _keywords(where, words, problems)
        sections[section] = parsed
    return sections


def _keywords(where: str, words: Any, problems: list[str]) -> list[str]:
    if not isinstance(words, list):
        problems.append(f"{where} must be a list of keywords, got {type(words).__name__}")
        return []
    good: list[str] = []
    for i, word in enumerate(words):
        at = f"{where}[{i}]"
        if not isinstance(word, str):
            problems.append(f"{at}: a keyword is a string, got {type(word).__name__} {word!r}")
        elif not word.strip() or word.strip() == "*":
            problems.append(f"{at}: a keyword must not be empty")
        elif len(word) > MAX_KEYWORD_LENGTH:
            problems.append(f"{at}: a keyword has at most {MAX_KEYWORD_LENGTH} characters")
        elif "*" in word.rstrip("*") or (word.endswith("*") and is_chinese(word)):
            problems.append(f"{at}: {word!r}: '*' is only allowed at the end of an English "
                            "keyword (Chinese keywords already match inside longer text)")
        else:
            good.append(word.strip())
    return good


def _error(path: Path, problems: list[str]) -> ConfigError:
    details = "".join(f"\n  - {p}" for p in problems)
    return ConfigError(
        f"keyword file {path} ({KEYWORDS_FILE_ENV}) is not usable:{details}",
        f"关键词文件 {path}（{KEYWORDS_FILE_ENV}）无法使用：{details}",
    )
