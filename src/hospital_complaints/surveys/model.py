"""Questionnaires as data and the checking of answers.

A questionnaire is a JSON file::

    {"id": "post-exam", "version": "1", "subject": "exam" | "case",
     "title": {"zh": ..., "en": ...}, "intro": {"zh": ..., "en": ...},
     "satisfaction_item": "overall",           # the item whose 1-5 score the reports count
     "items": [{"link_id": "overall", "kind": "choice" | "scale" | "text",
                "required": true, "text": {"zh": ..., "en": ...},
                "options": [{"code": "very-good", "score": 5, "zh": ..., "en": ...}],
                "max_length": 1000}]}

``scale`` is the 1-5 satisfaction scale below; ``choice`` lists its own options (a
``score`` makes an option count as satisfaction); ``text`` is free text. Answers are a
mapping ``link_id -> code | score | text``; :func:`check_answers` names every bad one in zh
and en and returns the normalised answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError, FieldProblem, InvalidInput

#: the 1-5 satisfaction scale of ``scale`` items (满意度)
SCALE: tuple[tuple[int, str, str], ...] = (
    (5, "非常满意", "very satisfied"),
    (4, "满意", "satisfied"),
    (3, "一般", "neither satisfied nor dissatisfied"),
    (2, "不满意", "dissatisfied"),
    (1, "非常不满意", "very dissatisfied"),
)

Answers = dict[str, str | int]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text2(_Model):
    zh: str = Field(min_length=1, max_length=2000)
    en: str = Field(min_length=1, max_length=2000)

    def get(self, language: str) -> str:
        return self.en if language.startswith("en") else self.zh


class Option(_Model):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)
    score: int | None = Field(default=None, ge=1, le=5)

    def label(self, language: str) -> str:
        return self.en if language.startswith("en") else self.zh


class Item(_Model):
    link_id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    kind: Literal["choice", "scale", "text"]
    required: bool = False
    text: Text2
    options: tuple[Option, ...] = ()
    max_length: int = Field(default=1000, ge=1, le=5000)
    source: str | None = None

    @model_validator(mode="after")
    def _options(self) -> Item:
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError(f"item {self.link_id}: a choice needs at least two options")
        if self.kind != "choice" and self.options:
            raise ValueError(f"item {self.link_id}: only a choice has options")
        return self

    def choices(self) -> tuple[Option, ...]:
        """The options to show: a scale's five levels, or the choice's own."""
        if self.kind == "scale":
            return tuple(Option(code=str(n), zh=zh, en=en, score=n) for n, zh, en in SCALE)
        return self.options


class Questionnaire(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")
    version: str = Field(min_length=1, max_length=20)
    subject: Literal["exam", "case"]
    title: Text2
    intro: Text2 | None = None
    satisfaction_item: str | None = None
    items: tuple[Item, ...] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        ids = [i.link_id for i in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("item link_ids must be unique")
        if self.satisfaction_item is not None:
            item = self.item(self.satisfaction_item)
            if item is None or not any(o.score for o in item.choices()):
                raise ValueError(f"satisfaction_item {self.satisfaction_item!r} must name a "
                                 "scale item or a choice with scores")
        return self

    def item(self, link_id: str) -> Item | None:
        return next((i for i in self.items if i.link_id == link_id), None)

    def satisfaction(self, answers: Mapping[str, str | int]) -> int | None:
        """The 1-5 score the reports count (``None``: not answered or no such item)."""
        if self.satisfaction_item is None:
            return None
        item = self.item(self.satisfaction_item)
        value = answers.get(self.satisfaction_item)
        if item is None or value is None:
            return None
        found = next((o for o in item.choices() if o.code == str(value)), None)
        return found.score if found is not None else None


def check_answers(q: Questionnaire, raw: Mapping[str, Any]) -> Answers:
    """The answers, normalised (a scale as its integer, a choice as its code, text stripped);
    :class:`InvalidInput` naming every unknown item, missing required item and bad value."""
    problems: list[FieldProblem] = []
    zh: list[str] = []
    out: Answers = {}
    known = {i.link_id for i in q.items}
    for key in raw:
        if key not in known:
            problems.append(FieldProblem(str(key)[:40], "(answer)",
                                         f"one of the questions: {', '.join(sorted(known))}"))
            zh.append(f"  - {str(key)[:40]}：问卷中没有这个问题")
    for item in q.items:
        value = raw.get(item.link_id)
        if value is None or (isinstance(value, str) and not value.strip()):
            if item.required:
                problems.append(FieldProblem(item.link_id, "(missing)", "an answer (required)"))
                zh.append(f"  - {item.text.zh}：此题必答")
            continue
        if item.kind == "text":
            text = str(value).strip()
            if len(text) > item.max_length:
                problems.append(FieldProblem(item.link_id, f"{len(text)} characters",
                                             f"at most {item.max_length} characters"))
                zh.append(f"  - {item.text.zh}：最多 {item.max_length} 字")
                continue
            out[item.link_id] = text
            continue
        choices = item.choices()
        codes = [o.code for o in choices]
        code = str(value).strip()
        if code not in codes:
            shown = code[:20]
            problems.append(FieldProblem(item.link_id, shown, f"one of: {', '.join(codes)}"))
            zh.append(f"  - {item.text.zh}：{shown!r} 不是有效选项（{'、'.join(codes)}）")
            continue
        out[item.link_id] = int(code) if item.kind == "scale" else code
    if problems:
        raise InvalidInput(f"answers to {q.id}", problems, zh)
    return out


def load_questionnaires(site_dir: Path | None = None) -> dict[str, Questionnaire]:
    """The built-in questionnaires, then the site's (``HC_SURVEY_DIR``: ``*.json``; a file
    with a built-in id replaces it). A bad file is a :class:`ConfigError` naming it."""
    found: dict[str, Questionnaire] = {}
    folder = resources.files(__package__).joinpath("questionnaires")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            q = _parse(entry.read_text(encoding="utf-8"), f"built-in {entry.name}")
            found[q.id] = q
    if site_dir is not None:
        if not site_dir.is_dir():
            raise ConfigError(f"HC_SURVEY_DIR: {site_dir} is not a folder",
                              f"HC_SURVEY_DIR：{site_dir} 不是文件夹")
        for path in sorted(site_dir.glob("*.json")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"HC_SURVEY_DIR: cannot read {path} ({exc})",
                                  f"HC_SURVEY_DIR：无法读取 {path}（{exc}）") from None
            q = _parse(text, str(path))
            found[q.id] = q
    return found


def _parse(text: str, where: str) -> Questionnaire:
    try:
        return Questionnaire.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"questionnaire {where} is not valid JSON: {exc}",
                          f"问卷 {where} 不是有效的 JSON：{exc}") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ConfigError(f"questionnaire {where}: {loc}: {first['msg']}",
                          f"问卷 {where}：{loc} 无效（{first['msg']}）") from None
