"""Names a package exports but imports only when first used (PEP 562), so importing the
package stays cheap: `__getattr__, __dir__ = lazy_exports(__name__, {name: submodule},
globals())` in its `__init__.py`."""
from __future__ import annotations

from importlib import import_module


def lazy_exports(package: str, names: dict[str, str], namespace: dict):
    """The module `__getattr__` and `__dir__` for `names` (exported name -> submodule)."""

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
