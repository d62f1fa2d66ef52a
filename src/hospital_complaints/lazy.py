"""Package attributes imported on first use (PEP 562), so that importing a package (and the
command line's start) does not load every layer behind its public names.

>>> __getattr__, __dir__ = lazy_exports(__name__, {"App": (".app", "App")}, globals())

``where`` maps each public name to ``(module, attribute)``; a relative module is resolved
against the module's ``__package__`` (the package itself, or a plain module's package).
A name, once imported, is kept in the module's namespace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, where: Mapping[str, tuple[str, str]],
                 namespace: MutableMapping[str, Any]) -> tuple[Callable[[str], Any],
                                                               Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the module ``package`` (its ``__name__``), whose
    public names are ``where``."""
    anchor = namespace.get("__package__") or package

    def getattr_(name: str) -> Any:
        found = where.get(name)
        if found is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = import_module(found[0], anchor)
        try:
            value = getattr(module, found[1])
        except AttributeError:  # a submodule not imported yet (``.domain`` -> ``taxonomy``)
            value = import_module(f"{module.__name__}.{found[1]}")
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(namespace.get("__all__", where))

    return getattr_, dir_
