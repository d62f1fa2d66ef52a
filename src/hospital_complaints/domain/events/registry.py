"""Which payload class reads which stored payload, and how old versions become new ones.

:class:`PayloadRegistry` maps ``(event type, version)`` to a payload class and
``(event type, from version)`` to an upcaster, a function that turns a payload of version N
(a plain JSON object) into one of version N + 1. :meth:`PayloadRegistry.load` validates a
stored payload with its own version's class, then upcasts it step by step to the newest
version, which is what ``apply`` runs on.

:data:`PAYLOADS` is the registry of this release. To change an event: add the new version's
class to :data:`.payloads.ALL_PAYLOADS` and register its upcaster below with
``@PAYLOADS.upcaster("acknowledged", 1)``. Never edit a released class (a test compares each
with its committed ``schemas/events/<type>.v<N>.schema.json``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from ...errors import HospitalComplaintsError
from .event import Event
from .payloads import ALL_PAYLOADS, EventPayload
from .records import STORED
from .workorder_payloads import WORK_ORDER_PAYLOADS

#: turns a payload of version N (a JSON object) into one of version N + 1
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventSchema(HospitalComplaintsError, ValueError):
    """A stored event whose (type, version) this release has no payload class for."""


class StoredEventInvalid(HospitalComplaintsError, ValueError):
    """A stored payload that does not match the schema its event names."""


class PayloadRegistry:
    """Payload classes by (type, version), and the upcasters between versions."""

    def __init__(self, classes: Iterable[type[EventPayload]] = ()) -> None:
        self._classes: dict[tuple[str, int], type[EventPayload]] = {}
        self._newest: dict[str, type[EventPayload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for cls in classes:
            self.add(cls)

    def add(self, cls: type[EventPayload]) -> type[EventPayload]:
        """Register a payload class (usable as a class decorator)."""
        key = (cls.event_type, cls.version)
        if key in self._classes and self._classes[key] is not cls:
            raise ValueError(f"{cls.event_type} version {cls.version} is registered twice "
                             f"({self._classes[key].__name__} and {cls.__name__})")
        self._classes[key] = cls
        newest = self._newest.get(cls.event_type)
        if newest is None or newest.version < cls.version:
            self._newest[cls.event_type] = cls
        return cls

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register ``fn`` as the step from ``from_version`` to ``from_version + 1``."""

        def register(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"{event_type} already has an upcaster from v{from_version}")
            self._upcasters[key] = fn
            return fn

        return register

    # -- lookups ------------------------------------------------------------------------------

    def event_types(self) -> list[str]:
        return sorted(self._newest)

    def versions(self) -> list[tuple[str, int]]:
        """Every registered (type, version), sorted."""
        return sorted(self._classes)

    def current(self, event_type: str) -> type[EventPayload]:
        """The newest payload class of ``event_type`` (what new events are written with)."""
        try:
            return self._newest[event_type]
        except KeyError:
            raise UnknownEventSchema(
                f"event type {event_type!r} is unknown to this version of hospital-complaints; "
                "was the database written by a newer release? Upgrade the software",
                f"本版本不认识事件类型 {event_type!r}；数据库可能由更新的版本写入，请升级软件",
            ) from None

    def get(self, event_type: str, version: int) -> type[EventPayload]:
        """The payload class of one stored version; :class:`UnknownEventSchema` if none."""
        try:
            return self._classes[(event_type, version)]
        except KeyError:
            newest = self.current(event_type).version
            raise UnknownEventSchema(
                f"event type {event_type!r} has no payload schema version {version} here "
                f"(this release knows versions 1 to {newest}); was the database written by "
                "a newer release? Upgrade the software",
                f"事件类型 {event_type!r} 没有第 {version} 版结构（本版本支持 1 至 {newest}）；"
                "数据库可能由更新的版本写入，请升级软件",
            ) from None

    def check(self) -> list[str]:
        """Problems in the registry: a gap in a type's versions, a missing upcaster."""
        problems = []
        for event_type in self.event_types():
            have = sorted(v for t, v in self._classes if t == event_type)
            if have != list(range(1, len(have) + 1)):
                problems.append(f"{event_type}: versions {have} are not 1, 2, 3 ...")
            problems += [f"{event_type}: no upcaster from version {v} to {v + 1}"
                         for v in have[:-1] if (event_type, v) not in self._upcasters]
        problems += [f"{t}: upcaster from version {v}, but no version {v + 1}"
                     for t, v in self._upcasters if (t, v + 1) not in self._classes]
        return problems

    # -- reading ------------------------------------------------------------------------------

    def read(self, event: Event) -> EventPayload:
        """The payload as recorded: validated with its own version's class, not upcast."""
        cls = self.get(event.type, event.schema_version)
        return _validate(cls, event.payload, event)

    def load(self, event: Event) -> EventPayload:
        """The payload validated as recorded, then upcast to the newest version."""
        payload = self.read(event)
        if payload.version == self._newest[event.type].version:
            return payload
        newest = self._newest[event.type].version
        while payload.version < newest:
            step = self._upcasters.get((event.type, payload.version))
            if step is None:
                raise UnknownEventSchema(
                    f"{event.type} has no upcaster from version {payload.version} to "
                    f"{payload.version + 1}",
                    f"{event.type} 缺少从第 {payload.version} 版到第 {payload.version + 1} 版的"
                    "升级函数")
            data = step(payload.model_dump(mode="json"))
            payload = _validate(self.get(event.type, payload.version + 1), data, event)
        return payload


def _validate(cls: type[EventPayload], data: Any, event: Event) -> EventPayload:
    try:
        return cls.model_validate(data, context=STORED)
    except ValidationError as exc:
        # name the fields, never the values: a stored payload may hold personal data
        where = "; ".join(sorted({f"{'.'.join(str(p) for p in e['loc']) or '(payload)'} "
                                  f"({e['type']})" for e in exc.errors(include_url=False)}))
        raise StoredEventInvalid(
            f"stored event {event.complaint_ref} #{event.seq} ({cls.schema_id()}) does not "
            f"match its schema at: {where}",
            f"已存储的事件 {event.complaint_ref} #{event.seq}（{cls.schema_id()}）与其结构不符："
            f"{where}") from None


#: Every payload class of this release: the case workflow's, and the work orders' and merges'
EVERY_PAYLOAD: tuple[type[EventPayload], ...] = ALL_PAYLOADS + WORK_ORDER_PAYLOADS

#: The payload classes and upcasters of this release.
PAYLOADS = PayloadRegistry(EVERY_PAYLOAD)


# Upcasters of this release, oldest first.

@PAYLOADS.upcaster("declined", 1)
def _declined_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Release 0.2 added the not-accepted reason code (不予受理理由类别); older refusals
    have none."""
    return {**data, "reason_code": None}

__all__ = ["EVERY_PAYLOAD", "PAYLOADS", "PayloadRegistry", "StoredEventInvalid",
           "UnknownEventSchema", "Upcaster"]
