"""Message text for people (e-mail, WeCom, SMS): Jinja2 templates per event type and
language, shipped in ``hc_notify/templates/<lang>/`` and overridable by a site's own folder.

- A template is chosen as ``<lang>/<event type>.j2``, else ``<lang>/default.j2``; a site's
  folder (``template_dir`` of the transport) is searched before the shipped one, so a site
  overrides one type, or the default, by adding a file of the same name.
- One file holds every *part* (``subject``, ``text``, ``html``, ``markdown``, ``sms``):
  the shipped ``base.j2`` picks the block by the ``part`` variable, and a type's file
  overrides the blocks it words differently.
- Templates come only from files (the shipped ones and the site's): text from outside (a
  complaint's subject, a department name) is only ever a *value* in them, never template
  source. They run in Jinja's immutable sandbox.
- Every value is escaped for where it lands: HTML-escaped in ``html`` (autoescape), markdown
  and HTML syntax neutralised in ``markdown`` (WeCom), control and bidi-override characters
  removed in plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from hospital_complaints.plugin_api import CaseState, Delivery, DeliveryRefused, label
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .base import plain
from .labels import alert_label, event_label

LANGUAGES = ("zh", "en")
PARTS = ("subject", "text", "html", "markdown", "sms")

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#])")


def markdown_escape(text: str) -> str:
    """Outside text inside markdown (WeCom): HTML-like tags (``<font>``) and entities
    neutralised, every markdown punctuation character backslash-escaped."""
    text = plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _finalize_plain(value: Any) -> Any:
    return plain(value) if isinstance(value, str) else value


def _finalize_markdown(value: Any) -> Any:
    return markdown_escape(value) if isinstance(value, str) else value


def normalise_language(lang: str | None) -> str:
    """``zh-CN`` -> ``zh``; anything unknown -> ``zh`` (the default of the product)."""
    head = (lang or "zh").strip().lower().replace("_", "-").split("-")[0]
    return head if head in LANGUAGES else "zh"


def _state(value: Any, lang: str) -> str:
    try:
        names = label(CaseState(str(value)))
    except (ValueError, KeyError):
        return str(value or "")
    return names.zh if lang == "zh" else names.en


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return str(value or "")


@dataclass(frozen=True)
class Rendered:
    """One message in one or more languages."""

    subject: str
    text: str
    html: str = ""
    markdown: str = ""


class Templates:
    """The template set of one transport (shipped templates, under a site folder if given).

    :param site_dir: a folder with ``zh/`` and/or ``en/`` subfolders of ``.j2`` files.
    :param case_url: a link to a case in the HIS, ``{reference}`` replaced (URL-quoted).
    """

    def __init__(self, site_dir: Path | None = None, *, case_url: str | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if site_dir is not None:  # its existence is checked with the settings
            loaders.append(jinja2.FileSystemLoader(str(site_dir)))
        loaders.append(jinja2.PackageLoader("hc_notify", "templates"))
        loader = jinja2.ChoiceLoader(loaders)
        common: dict[str, Any] = {"loader": loader, "undefined": jinja2.ChainableUndefined,
                                  "trim_blocks": True, "lstrip_blocks": True,
                                  "auto_reload": False}
        self._envs = {
            "text": ImmutableSandboxedEnvironment(autoescape=False, finalize=_finalize_plain,
                                                  **common),
            "markdown": ImmutableSandboxedEnvironment(autoescape=False,
                                                      finalize=_finalize_markdown, **common),
            "html": ImmutableSandboxedEnvironment(autoescape=True, **common),
        }
        for env in self._envs.values():
            env.filters["when"] = _when
        self.case_url = case_url

    def context(self, delivery: Delivery, lang: str) -> dict[str, Any]:
        """What a template sees (documented in docs/notify-transports.md)."""
        data = dict(delivery.data)
        case = dict(delivery.case or {})
        found = data.get("payload")
        payload: dict[str, Any] = dict(found) if isinstance(found, Mapping) else {}
        recipient = None
        if delivery.recipient is not None:
            recipient = {"name": delivery.recipient.name, "language": delivery.recipient.language}
        link = None
        if self.case_url and delivery.case is not None:
            link = self.case_url.replace("{reference}", quote(delivery.subject, safe=""))
        kind = payload.get("kind") if delivery.type == "deadline_alert" else None
        return {
            "lang": lang, "id": delivery.id, "type": delivery.type,
            "event": event_label(delivery.type, lang), "reference": delivery.subject,
            "at": _when(delivery.at), "attempt": delivery.attempt, "data": data,
            "payload": payload, "case": case, "recipient": recipient, "link": link,
            "state": _state(case.get("state") or data.get("to_state"), lang),
            "alert": alert_label(str(kind), lang) if kind else "",
            "due": _when(payload.get("due")) if kind else "",
        }

    def render_part(self, part: str, delivery: Delivery, lang: str,
                    extra: Mapping[str, Any] | None = None) -> str:
        """One part in one language. A broken template (a site's) is a refusal naming the
        template: retrying cannot help until the file is fixed (then ``outbox retry``)."""
        env = self._envs["html" if part == "html" else
                         "markdown" if part == "markdown" else "text"]
        names = [f"{lang}/{delivery.type}.j2", f"{lang}/default.j2"]
        try:
            template = env.select_template(names)
            values = self.context(delivery, lang)
            values.update(extra or {})
            return template.render(part=part, **values).strip()
        except jinja2.TemplateError as exc:
            where = getattr(exc, "name", None) or " or ".join(names)
            raise DeliveryRefused(f"template {where} cannot be rendered "
                                  f"({type(exc).__name__}, line {getattr(exc, 'lineno', '?')})"
                                  f" 模板无法渲染") from None

    def render(self, delivery: Delivery, languages: tuple[str, ...],
               parts: tuple[str, ...] = ("subject", "text")) -> Rendered:
        """Every part asked for, each in ``languages`` joined (zh first, as configured)."""
        got: dict[str, str] = {}
        for part in parts:
            pieces = [self.render_part(part, delivery, lang) for lang in languages]
            pieces = [p for p in pieces if p]
            joiner = {"subject": " / ", "html": "\n<hr>\n"}.get(part, "\n\n----\n\n")
            got[part] = joiner.join(pieces)
        return Rendered(subject=got.get("subject", ""), text=got.get("text", ""),
                        html=got.get("html", ""), markdown=got.get("markdown", ""))


def languages_of(value: Any) -> tuple[str, ...]:
    """``"zh,en"`` or a list -> ``("zh", "en")``, checked."""
    items = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    items = [p for p in items if p]
    bad = [p for p in items if p not in LANGUAGES]
    if bad or not items:
        raise ValueError(f"languages must be zh and/or en (comma-separated), not {bad or items}")
    return tuple(dict.fromkeys(items))
