"""Build aiogram's Telegram types when they are first used instead of at import.

Importing `aiogram.types` builds the pydantic schema of every one of its ~440 types (the loop at
the end of `aiogram/types/__init__.py` calls `model_rebuild` on each, with a namespace that
resolves their forward references): about 2.5 s of CPU and 150 MB that a bare aiogram bot pays
at start, for types this bot mostly never sees. The types are declared `defer_build=True`, so
pydantic builds a type by itself the first time it validates one, provided `model_rebuild` can
resolve the forward references. `install()` therefore:

- wraps the loading of `aiogram.types` (an import hook, so nothing is imported before it is
  needed) and, while that module runs, turns its `model_rebuild(_types_namespace=...)` calls
  into no-ops that keep the namespace;
- then makes `model_rebuild` pass that namespace for aiogram's classes (the types, the methods
  built at import, whose fields now refer to unbuilt types, and the `Response[T]` answers), so
  the lazy build pydantic triggers resolves the references as aiogram's own loop would have.

`warm_up()` builds the types and answers every update needs (run once the bot polls, so the
first update does not pay for them).

This relies on aiogram's and pydantic's internals, checked with the versions pinned in
pyproject.toml; `tests/runtime/test_aiogram_lazy.py` fails loudly when an upgrade breaks it
(types built eagerly again, or a type that no longer builds lazily).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any

TYPES_MODULE = "aiogram.types"
METHODS_BASE = "aiogram.methods.base"
_state: dict[str, Any] = {"namespace": None, "deferred": 0}


def _aiogram_type(cls: type) -> bool:
    return cls.__module__.startswith(TYPES_MODULE + ".")


class _DeferringLoader(importlib.abc.Loader):
    """Runs `aiogram.types` with its eager `model_rebuild` loop turned into no-ops."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        from pydantic import BaseModel

        original = BaseModel.__dict__["model_rebuild"]

        def deferring(cls, *args, _types_namespace=None, **kwargs):
            if _types_namespace is not None and _aiogram_type(cls) \
                    and not cls.__pydantic_complete__:
                _state["namespace"] = _types_namespace
                _state["deferred"] += 1
                return None
            return original.__func__(cls, *args, _types_namespace=_types_namespace, **kwargs)

        BaseModel.model_rebuild = classmethod(deferring)
        try:
            self.loader.exec_module(module)
        finally:
            BaseModel.model_rebuild = original
        if _state["namespace"] is not None:
            def lazy_rebuild(cls, *args, _types_namespace=None, **kwargs):
                if _types_namespace is None and cls.__module__.startswith("aiogram."):
                    _types_namespace = _state["namespace"]
                return original.__func__(cls, *args, _types_namespace=_types_namespace, **kwargs)

            BaseModel.model_rebuild = classmethod(lazy_rebuild)


class _DeferringMethodsLoader(_DeferringLoader):
    """Declares aiogram's Bot API methods `defer_build` too, before any is defined: built at
    class creation, each would build the schemas of the types its fields use."""

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        module.TelegramMethod.model_config["defer_build"] = True


class _Finder(importlib.abc.MetaPathFinder):
    loaders = {TYPES_MODULE: _DeferringLoader, METHODS_BASE: _DeferringMethodsLoader}

    def find_spec(self, fullname, path, target=None):
        loader = self.loaders.get(fullname)
        if loader is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = loader(spec.loader)
        return spec


_FINDER = _Finder()


def install() -> bool:
    """Defer the building of aiogram's types; False when aiogram.types is already loaded."""
    if TYPES_MODULE in sys.modules or METHODS_BASE in sys.modules:
        return False
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return True


def deferred_types() -> int:
    """How many types were left to be built when first used (0: built at import)."""
    return _state["deferred"]


def warm_up() -> None:
    """Build what every update and answer needs: the Update type and the answers of the Bot API
    methods the bot calls most."""
    from aiogram import methods
    from aiogram.types import CallbackQuery, Message, Update

    from bot.response_types import kept

    for model in (Update, Message, CallbackQuery):
        model.model_rebuild()
    for method in (methods.GetUpdates, methods.SendMessage, methods.EditMessageText,
                   methods.AnswerCallbackQuery):
        kept(method)
