"""Departments as identities, not strings.

A complaint names departments in free text ("超声科", "超声科 ultrasound", "ＵＳ", "影像科
imaging department"), typed by clerks, routing plugins and hotline platforms. Decisions that
matter, above all "is this viewer of the department a report (举报) concerns?", are made on
department *ids* from a registry: each department has an id, zh and en names and aliases,
and an optional parent (CT室 within 影像科). Text is normalised before lookup: Unicode NFKC
(full-width letters and digits become ASCII), case folded, spaces collapsed.

The built-in registry below covers the departments the demo and the built-in routing use and
the common units of a Chinese hospital; a site lists its own in a file (``HC_DEPARTMENTS_FILE``,
see docs/security.md), which extends or replaces these.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

_SPACES = re.compile(r"[\s\u3000]+")


def normalise(text: str) -> str:
    """The lookup form of a department name: NFKC, case folded, single spaces, trimmed.

    >>> normalise("  ＵＬＴＲＡＳＯＵＮＤ\u3000超声科 ")
    'ultrasound 超声科'
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@dataclass(frozen=True)
class Department:
    """One unit of the hospital. ``parent`` is the id of the unit it belongs to, if any."""

    id: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    parent: str | None = None

    @property
    def display(self) -> str:
        """How listings show it: ``影像科 imaging department``."""
        return f"{self.zh} {self.en}"

    def names(self) -> list[str]:
        return [self.id, self.zh, self.en, self.display, f"{self.en} {self.zh}", *self.aliases]


BUILTIN: tuple[Department, ...] = (
    Department("patient-relations", "医患关系办公室", "patient-relations office",
               ("医患办", "患者服务中心", "客服中心", "patient relations", "patient services")),
    Department("discipline-inspection", "纪检监察室", "discipline-inspection office",
               ("纪委", "纪检", "监察室", "discipline inspection")),
    Department("imaging", "影像科", "imaging department",
               ("放射科", "医学影像科", "影像中心", "radiology", "imaging",
                "radiology department")),
    Department("ct", "CT室", "CT room", ("ct", "ct 室"), parent="imaging"),
    Department("mr", "磁共振室", "MR room", ("mr", "mri", "mr室", "核磁共振室"),
               parent="imaging"),
    Department("dr", "放射摄片室", "X-ray room", ("dr", "x线室", "x-ray", "dr室", "拍片室"),
               parent="imaging"),
    Department("ultrasound", "超声科", "ultrasound", ("超声室", "b超室", "us", "超声医学科",
                                                  "ultrasound department")),
    Department("nuclear-medicine", "核医学科", "nuclear medicine", ("pet-ct", "pet/ct")),
    Department("medical-affairs", "医务科", "medical affairs", ("医务处", "医务部")),
    Department("nursing", "护理部", "nursing department", ("nursing",)),
    Department("outpatient", "门诊部", "outpatient office", ("门诊办公室", "outpatient")),
    Department("emergency", "急诊科", "emergency department", ("急诊", "emergency", "er")),
    Department("finance", "财务科", "finance office", ("收费处", "财务处", "billing",
                                                     "finance")),
    Department("equipment", "设备科", "medical equipment office",
               ("设备处", "医学工程科", "equipment", "clinical engineering")),
    Department("logistics", "总务科", "general services", ("后勤", "后勤保障部", "食堂",
                                                         "canteen", "logistics")),
    Department("quality", "质控科", "quality management office", ("质量管理科", "质控办",
                                                                "quality")),
)


@dataclass
class DepartmentRegistry:
    """Departments by id, and every normalised name and alias pointing at one of them."""

    departments: dict[str, Department] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, departments: Iterable[Department]) -> DepartmentRegistry:
        registry = cls()
        for d in departments:
            registry.add(d)
        registry._check_parents()
        return registry

    @classmethod
    def builtin(cls) -> DepartmentRegistry:
        return cls.of(BUILTIN)

    def add(self, department: Department) -> None:
        """Add (or replace, by id) a department. A name that already means another
        department is a :class:`ConfigError`: names must not be ambiguous."""
        old = self.departments.get(department.id)
        if old is not None:  # replacing: forget the old names first
            self._names = {k: v for k, v in self._names.items() if v != old.id}
        for name in department.names():
            key = normalise(name)
            if not key:
                continue
            owner = self._names.get(key)
            if owner is not None and owner != department.id:
                raise ConfigError(
                    f"department name {name!r} of {department.id!r} already names "
                    f"{owner!r}; every name and alias must mean one department",
                    f"科室名称 {name!r}（{department.id}）已用于科室 {owner!r}；"
                    "名称和别名不能重复",
                )
            self._names[key] = department.id
        self.departments[department.id] = department

    def _check_parents(self) -> None:
        for d in self.departments.values():
            seen = {d.id}
            parent = d.parent
            while parent is not None:
                if parent not in self.departments:
                    raise ConfigError(
                        f"department {d.id!r} has parent {parent!r}, which is not listed",
                        f"科室 {d.id!r} 的上级科室 {parent!r} 不存在",
                    )
                if parent in seen:
                    raise ConfigError(f"departments {sorted(seen)} form a cycle of parents",
                                      f"科室上下级关系成环：{sorted(seen)}")
                seen.add(parent)
                parent = self.departments[parent].parent

    def resolve(self, text: str | None) -> Department | None:
        """The department ``text`` names, or ``None`` when it names none or is ambiguous.

        A whole-name match wins; otherwise the words are looked up one by one ("超声科
        ultrasound" → ultrasound) and every word that names a department must name the same
        one. Ambiguous text resolves to nothing, so decisions that need a department fail
        closed.
        """
        if not text:
            return None
        key = normalise(text)
        found = self._names.get(key)
        if found is not None:
            return self.departments[found]
        ids = {self._names[w] for w in key.split(" ") if w in self._names}
        if len(ids) == 1:
            return self.departments[ids.pop()]
        return None

    def lineage(self, department_id: str) -> list[str]:
        """The department and its ancestors, nearest first."""
        out = []
        current: str | None = department_id
        while current is not None and current not in out:
            out.append(current)
            current = self.departments[current].parent if current in self.departments else None
        return out

    def related(self, a: str, b: str) -> bool:
        """Whether one department is the other or contains it (CT室 and 影像科 are related)."""
        return a in self.lineage(b) or b in self.lineage(a)

    def names_within(self, department_id: str) -> frozenset[str]:
        """Every normalised name and alias of the department and of the units within it
        (what a stored department text may be, for a filter on that department)."""
        ids = {d for d in self.departments if department_id in self.lineage(d)}
        return frozenset(name for name, owner in self._names.items() if owner in ids)

    def same_or_within(self, text: str | None, department_id: str) -> bool:
        """Whether ``text`` names ``department_id`` or a unit within it (list filters)."""
        d = self.resolve(text)
        return d is not None and department_id in self.lineage(d.id)


def departments_from_data(data: Any, where: str) -> list[Department]:
    """Departments from a parsed file: ``{"departments": [{"id", "zh", "en", "aliases",
    "parent"}, ...]}``. Errors name the file, entry and field."""
    if not isinstance(data, Mapping) or not isinstance(data.get("departments"), list):
        raise ConfigError(f"{where}: expected an object with a 'departments' list",
                          f"{where}：应为包含 departments 列表的对象")
    out = []
    for i, item in enumerate(data["departments"], 1):
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where}: departments #{i} is not an object",
                              f"{where}：第 {i} 个科室不是对象")
        unknown = set(item) - {"id", "zh", "en", "aliases", "parent"}
        if unknown:
            raise ConfigError(
                f"{where}: departments #{i} has unknown keys {sorted(unknown)}; allowed: id, "
                "zh, en, aliases, parent",
                f"{where}：第 {i} 个科室含未知字段 {sorted(unknown)}；允许 id、zh、en、aliases、"
                "parent")
        for key in ("id", "zh", "en"):
            value = item.get(key)
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise ConfigError(
                    f"{where}: departments #{i}: '{key}' must be a text of 1-200 characters",
                    f"{where}：第 {i} 个科室的 {key} 须为 1-200 个字符的文本")
        aliases = item.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ConfigError(f"{where}: departments #{i}: 'aliases' must be a list of texts",
                              f"{where}：第 {i} 个科室的 aliases 须为文本列表")
        parent = item.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise ConfigError(f"{where}: departments #{i}: 'parent' must be a department id",
                              f"{where}：第 {i} 个科室的 parent 须为科室标识")
        out.append(Department(item["id"].strip(), item["zh"].strip(), item["en"].strip(),
                              tuple(aliases), parent))
    return out
