"""Packages whose names come from their modules when first used (PEP 562): `tix.tickets` and
`tix.outbox` hand out every name of their modules, yet importing the package loads none of
them, so a command loads only the modules it uses."""

import importlib
import sys


def names_from(package: str, homes: dict[str, str]):
    """`__getattr__` and `__dir__` for `package`, where `homes` maps each name to the module
    that defines it; a name is imported once, then kept as a plain attribute of the package."""

    def __getattr__(name: str):
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)  # later uses never come here
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *homes})

    return __getattr__, __dir__
