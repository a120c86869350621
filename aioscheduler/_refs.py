"""Callable and class references: how stored data names code, and how it is found again.

A persistent store keeps a job's function as ``"package.module:qualname"`` (:func:`callable_ref`)
and finds it again with :func:`resolve_ref`: the reference is validated before anything is
imported, and only a function or a class method is accepted, never a class (calling a class
named by stored data would construct arbitrary objects from that data: APScheduler 4's
CVE-2026-31072). :func:`class_ref` names the classes stored data may mention (enum members,
``retry_on``), which are only ever looked up, never constructed.

*Whether* a stored reference may be followed at all is decided before these functions are
called, by the scheduler's admission policy (``_admission.py``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Collection
from functools import partial
from types import ModuleType
from typing import Any, cast

from .errors import SerializationError

__all__ = ("callable_ref", "class_ref", "lookup_ref", "module_allowed", "resolve_ref", "split_ref")


def split_ref(ref: str) -> tuple[str, tuple[str, ...]]:
    """Validate ``"module:qualname"`` and return the module name and the qualname's parts."""
    return _split_str(ref) if isinstance(ref, str) else _split_str("")


@functools.lru_cache(maxsize=1024)  # stores read the same few references for every row
def _split_str(ref: str) -> tuple[str, tuple[str, ...]]:
    module, sep, qualname = ref.partition(":")
    parts = tuple(qualname.split("."))
    if (
        not sep
        or not all(p.isidentifier() for p in module.split("."))
        or not all(p.isidentifier() for p in parts)
    ):
        raise SerializationError(
            f"malformed reference {ref!r}: expected 'package.module:qualname' made of "
            "dotted identifiers"
        )
    if any(p.startswith("__") for p in parts):
        # Walking dunders (__class__, __globals__, __init__...) reaches objects that are not
        # module-level functions; a reference never needs them.
        raise SerializationError(
            f"reference {ref!r} walks a dunder attribute; refer to a module-level function instead"
        )
    return module, parts


def module_allowed(module: str, allowed_modules: Collection[str] | None) -> bool:
    return allowed_modules is None or any(
        module == allowed or module.startswith(allowed + ".") for allowed in allowed_modules
    )


def lookup_ref(ref: str, allowed_modules: Collection[str] | None) -> object:
    """Import the module of ``ref`` (if allowed) and walk its qualname with ``getattr``."""
    module_name, parts = split_ref(ref)
    if not module_allowed(module_name, allowed_modules):
        # Checked before importing: importing a module runs its code.
        raise SerializationError(
            f"reference {ref!r} is outside the allowed modules "
            f"{sorted(allowed_modules or ())}; add its package to allowed_modules"
        )
    try:
        obj: object = importlib.import_module(module_name)
    except Exception as exc:  # importing runs user code, which may raise anything
        raise SerializationError(f"cannot import {module_name!r} for {ref!r}: {exc}") from exc
    for i, part in enumerate(parts):
        if i and not inspect.isclass(obj):
            # A qualname nests through classes only; walking into other objects would run
            # their properties and reach bound methods of arbitrary instances.
            raise SerializationError(
                f"cannot resolve {ref!r}: {'.'.join(parts[:i])!r} is a {type(obj).__name__}, "
                "not a class"
            )
        try:
            obj = getattr(obj, part)
        except Exception as exc:  # AttributeError, or whatever a module __getattr__ raises
            raise SerializationError(
                f"cannot resolve {ref!r}: {module_name!r} has no attribute path {'.'.join(parts)!r}"
            ) from exc
    return obj


def _is_storable_function(obj: object) -> bool:
    """Whether ``obj`` is a kind of callable that references may name (never a class)."""
    if inspect.isfunction(obj):
        return True
    if inspect.ismethod(obj):  # a classmethod, bound to its class
        return inspect.isclass(obj.__self__)
    if inspect.isbuiltin(obj):  # C function; its __self__ is its module (or a class)
        owner = obj.__self__
        return owner is None or isinstance(owner, ModuleType) or inspect.isclass(owner)
    return False


def _same_callable(a: object, b: object) -> bool:
    if inspect.ismethod(a) or inspect.isbuiltin(a):
        # Class methods bind anew on each attribute access; bound methods compare equal when
        # their __self__ is the same object and their function the same.
        return type(a) is type(b) and a == b
    return a is b


def _describe(func: object) -> str:
    """``module.qualname`` of a function or class for messages; ``repr()`` for the rest."""
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):
        return repr(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


def callable_ref(func: Callable[..., Any]) -> str:
    """Return the import path ``"package.module:qualname"`` under which a store keeps ``func``.

    Accepted: module-level functions (sync or async), built-in functions of a module, and static
    and class methods reachable through their class's qualname. The reference is checked by
    importing it back: it must give the very same object.

    Args:
        func: The callable a persistent job will run.

    Returns:
        The reference; :func:`resolve_ref` turns it back into ``func``.

    Raises:
        SerializationError: ``func`` cannot be found again by import path: a lambda, a nested
            function or closure, a function of ``__main__``, a method bound to an instance, a
            ``functools.partial``, a class, a callable instance, or a name that now refers to
            another object (a decorator without ``functools.wraps``, a redefinition). The
            message says what to do instead.

    Example:
        >>> import math
        >>> callable_ref(math.sqrt)
        'math:sqrt'
    """
    name = _describe(func)
    if isinstance(func, partial):
        raise SerializationError(
            f"{name} is a functools.partial, which cannot be stored; pass the function and "
            "its arguments separately: add(func, trigger, args=..., kwargs=...)"
        )
    if inspect.isclass(func):
        raise SerializationError(
            f"{name} is a class; a stored job never constructs a class named by stored data. "
            "Wrap the construction in a module-level function and store that"
        )
    owner = getattr(func, "__self__", None)
    if inspect.ismethod(func) and not inspect.isclass(owner):
        raise SerializationError(
            f"{name} is a method bound to a {type(owner).__name__} instance, which cannot be "
            f"stored; use a module-level function and pass what it needs as arguments "
            "(store an id and look it up in the job)"
        )
    if inspect.isbuiltin(func) and not _is_storable_function(func):
        raise SerializationError(
            f"{name} is a built-in method bound to a {type(owner).__name__} object, which "
            "cannot be stored; wrap the call in a module-level function"
        )
    if not _is_storable_function(func):
        raise SerializationError(
            f"{name} (a {type(func).__name__} instance) is not a function; store a "
            "module-level function that creates or looks up the object and calls it"
        )
    # A C class method (dict.fromkeys) has no __module__ of its own: its class has.
    module = getattr(func, "__module__", None) or getattr(owner, "__module__", None)
    qualname: str = getattr(func, "__qualname__", "")
    if "<lambda>" in qualname:
        raise SerializationError(
            f"{name} is a lambda, which cannot be stored; define a module-level function instead"
        )
    if "<locals>" in qualname:
        raise SerializationError(
            f"{name} is defined inside another function, which cannot be stored; move it to "
            "module level and pass what it closed over as arguments"
        )
    if not module:
        raise SerializationError(
            f"{name} has no __module__, so no import path; wrap it in a module-level function"
        )
    if module == "__main__":
        raise SerializationError(
            f"{name} is defined in __main__, which another process cannot import; "
            "move it into an importable module"
        )
    ref = f"{module}:{qualname}"
    if not _same_callable(lookup_ref(ref, None), func):
        raise SerializationError(
            f"{ref!r} imports another object than the {name} given: was it decorated without "
            "functools.wraps, or redefined? Pass the object the module exposes under that name"
        )
    return ref


def resolve_ref(ref: str, allowed_modules: Collection[str] | None = None) -> Callable[..., Any]:
    """Import the function named by a stored reference.

    The reference is validated (``module:qualname``, dotted identifiers, no dunder attributes)
    before anything is imported, and what the walk finds must be a function, a built-in
    function or a class method. A class is refused: calling it would construct an object of a
    type chosen by the stored data.

    Args:
        ref: A reference made by :func:`callable_ref`.
        allowed_modules: If given, only modules equal to one of these names or inside one of
            these packages may be imported (``"myapp"`` allows ``"myapp.jobs"`` but not
            ``"myapp_evil"``). Checked before importing.

    Returns:
        The function.

    Raises:
        SerializationError: The reference is malformed, outside ``allowed_modules``, cannot be
            imported (the import error is the ``__cause__``), or names something that is not
            a function.
    """
    obj = lookup_ref(ref, allowed_modules)
    if inspect.isclass(obj):
        raise SerializationError(
            f"{ref!r} names a class; stored references may only name functions, never classes "
            "to construct"
        )
    if not _is_storable_function(obj):
        raise SerializationError(
            f"{ref!r} names a {type(obj).__name__} object, not a function; stored references "
            "may only name functions"
        )
    return cast("Callable[..., Any]", obj)


def class_ref(cls: type) -> tuple[str, str | None]:
    """``("module:Qualname", problem)`` for a class that stored data may name.

    ``problem`` is ``None`` when the reference resolves back to the very same class,
    ``"unimportable"`` for a class in ``__main__`` or inside a function, and ``"not found"``
    when importing the reference gives something else. Callers word the error.
    """
    ref = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return ref, "unimportable"
    try:
        found = lookup_ref(ref, None)
    except SerializationError:
        found = None
    return ref, None if found is cls else "not found"
