"""Events: what happened to a case, stored for good.

- :mod:`.event`: :class:`Event`, one recorded change (who, when, why, from/to state, payload);
- :mod:`.records`: the frozen shapes of the records a payload carries (complaint, team
  member, outcome ...), separate from today's input models;
- :mod:`.payloads`: one payload class per event type and version, each owning ``apply``;
- :mod:`.registry`: (type, version) -> payload class, the upcasters, and loading a stored
  payload (:data:`PAYLOADS`);
- :mod:`.release01`: release 0.1's transition table, frozen, for events that predate
  recorded states;
- :mod:`.stored`: the envelope an event's payload is stored in.

Only :class:`Event` is imported here (the case model needs it); import the others from their
modules. See docs/events.md.
"""

from .event import Event

__all__ = ["Event"]
