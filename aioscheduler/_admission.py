"""What stored data may make this process import, call or look up: the admission policy.

A persistent store keeps callables and classes by name (``"package.module:qualname"``). Anyone
who can write the store can change those names, and importing a module runs its code, so a name
read from a row is followed only if this process vouches for it, **before anything is
imported**:

* the row carries a valid signature of the store's ``secret_key`` (only a key holder could have
  written it), or
* the name was *registered* in this process: the scheduler registers each job's callable, its
  ``retry_on`` classes and the enum classes in its arguments when the job is added or declared
  (decorators, ``include()``, ``add()``), or
* its module matches ``Scheduler(allow=[...])``: a module name, or a package prefix (``"myapp"``
  admits ``"myapp.jobs"``, not ``"myapp_evil"``).

Classes of the ``builtins`` module (``Exception``, ``ValueError``...) are always admitted as
classes (``retry_on``): that module is always loaded and looking one of its classes up runs
nothing. Builtin *functions* are not: ``builtins:exec`` is exactly what an attacker would name.

Everything else raises :class:`~aioscheduler.errors.RefusedReference`, and the store reports the
job as broken: never imported, never run, the other jobs unaffected. The shared row codec
(``aioscheduler.stores._codec``) applies this to every name a row holds; stores receive the
scheduler's policy as :attr:`StoreContext.admission <aioscheduler.stores.StoreContext.admission>`.
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

from ._values import JobSpec
from .errors import RefusedReference, SerializationError

__all__ = ("Admission", "ref_of")

logger = logging.getLogger("aioscheduler.admission")

#: Modules whose *classes* stored data may always name (never their functions).
_ALWAYS_CLASSES = frozenset({"builtins"})


def ref_of(obj: object) -> str | None:
    """``"module:qualname"`` of a function or class, as the store writes it; ``None`` if unknown.

    Computed from the object's attributes, without importing anything (so it also works while
    a module is still being imported, under a decorator).
    """
    module = getattr(obj, "__module__", None) or getattr(
        getattr(obj, "__self__", None), "__module__", None
    )
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    return f"{module}:{qualname}"


def _check_prefix(value: object) -> str:
    if not isinstance(value, str) or not all(p.isidentifier() for p in value.split(".")):
        raise SerializationError(
            f"allow entries must be module names or package prefixes such as 'myapp.jobs', "
            f"got {value!r}"
        )
    if value == "builtins":
        raise SerializationError(
            "allow=['builtins'] would let any stored row call exec, eval or open; add the "
            "builtin function you need as a job instead (that registers it alone)"
        )
    return value


def _enum_classes(value: object, found: set[type], depth: int = 0) -> None:
    """Collect the enum classes of the members inside an argument value (any nesting)."""
    if isinstance(value, enum.Enum):
        found.add(type(value))
    elif depth < 50 and isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _enum_classes(item, found, depth + 1)
    elif depth < 50 and isinstance(value, dict):
        for item in value.values():
            _enum_classes(item, found, depth + 1)


class Admission:
    """The names stored data may make this process follow (see the module docstring).

    One per :class:`~aioscheduler.Scheduler`, handed to its store. Registration happens on the
    event loop thread; checks may run on a store's worker thread (set membership only).

    Args:
        allow: Module names or package prefixes whose callables and classes any row may name.
            ``None`` or empty: only registered names (and signed rows).

    Raises:
        SerializationError: ``allow`` is a single string, or holds something that is not a
            dotted module name (the message shows it).
    """

    __slots__ = ("_allow", "_announced", "_callables", "_classes", "_generation")

    def __init__(self, allow: Iterable[str] | None = None) -> None:
        if isinstance(allow, str | bytes):
            raise SerializationError(
                f"allow must be a list of module names, not one string: allow=[{allow!r}]"
            )
        self._allow: tuple[str, ...] = tuple(_check_prefix(v) for v in allow or ())
        self._callables: set[str] = set()
        self._classes: set[str] = set()
        self._announced = False
        self._generation = 0

    @property
    def registered(self) -> int:
        """How many callables this process registered (declared or added)."""
        return len(self._callables)

    def __repr__(self) -> str:
        return (
            f"Admission(allow={list(self._allow)!r}, registered={len(self._callables)} "
            f"callables, {len(self._classes)} classes)"
        )

    @property
    def allow(self) -> tuple[str, ...]:
        """The module names and package prefixes given as ``allow``."""
        return self._allow

    @property
    def generation(self) -> int:
        """Counts the registrations that admitted a new name. A store that refused rows can
        try them again when it changes (a function registered by ``add()`` after the store
        opened admits the other stored jobs of that function)."""
        return self._generation

    # -- registration (the event loop thread) ----------------------------------------------

    def register_callable(self, func: Callable[..., Any]) -> None:
        """Admit the reference of ``func``: this process chose to run it.

        Only what a store could keep by reference is registered: a function, a built-in
        function, or a class method. A method bound to an instance, a lambda or a nested
        function is not (its reference would name something else than what was given).
        """
        if inspect.ismethod(func) and not inspect.isclass(func.__self__):
            return
        if not (inspect.isfunction(func) or inspect.isbuiltin(func) or inspect.ismethod(func)):
            return
        ref = ref_of(func)
        if ref is not None and "<" not in ref and ref not in self._callables:
            self._callables.add(ref)
            self._generation += 1

    def register_class(self, cls: type) -> None:
        """Admit the reference of ``cls`` as a class that stored data may name."""
        ref = ref_of(cls)
        if ref is not None and ref not in self._classes:
            self._classes.add(ref)
            self._generation += 1

    def register(
        self,
        func: Callable[..., Any],
        *,
        args: object = (),
        kwargs: object = None,
        retry_on: object = (),
    ) -> None:
        """Admit what a job added or declared in this process names: its callable, its
        ``retry_on`` classes and the enum classes of its arguments.

        Called before validation (a decorator registers at import time, before the function's
        module is complete), so odd values are skipped here and refused by validation.
        """
        self.register_callable(func)
        for cls in retry_on if isinstance(retry_on, tuple) else (retry_on,):
            if isinstance(cls, type):
                self.register_class(cls)
        found: set[type] = set()
        _enum_classes(args, found)
        _enum_classes(kwargs, found)
        for cls in found:
            self.register_class(cls)

    def register_spec(self, spec: JobSpec) -> None:
        """:meth:`register` the parts of a validated job definition."""
        self.register(
            spec.func, args=spec.args, kwargs=dict(spec.kwargs), retry_on=spec.options.retry_on
        )

    # -- checks (any thread) ---------------------------------------------------------------

    def _module_allowed(self, module: str) -> bool:
        return any(module == a or module.startswith(a + ".") for a in self._allow)

    def check_callable(self, ref: str, *, signed: bool, job_id: str | None = None) -> None:
        """Raise unless a row may make this process import and call ``ref``.

        Args:
            ref: The stored reference, already checked to be well formed.
            signed: The row carried a valid signature of the store's secret key.
            job_id: For the message.

        Raises:
            RefusedReference: Not signed, not registered, not under ``allow``.
        """
        if signed or ref in self._callables or self._module_allowed(ref.partition(":")[0]):
            return
        raise RefusedReference(
            f"{'job ' + repr(job_id) + ' ' if job_id else ''}names callable {ref!r}, which "
            f"this process did not register and {self._allow_text()}: refused before "
            f"importing it. {_HOW}"
        )

    def check_class(self, ref: str, *, signed: bool, what: str = "class") -> None:
        """Raise unless a row may make this process import and look up the class ``ref``.

        Args:
            ref: The stored reference, already checked to be well formed.
            signed: The row carried a valid signature of the store's secret key.
            what: What names it, for the message (``"retry_on class"``, ``"enum"``).

        Raises:
            RefusedReference: Not signed, not registered, not under ``allow``, not builtin.
        """
        module = ref.partition(":")[0]
        if (
            signed
            or ref in self._classes
            or module in _ALWAYS_CLASSES
            or self._module_allowed(module)
        ):
            return
        raise RefusedReference(
            f"stored {what} {ref!r} was not registered in this process and "
            f"{self._allow_text()}: refused before importing it. {_HOW}"
        )

    def class_gate(self, *, signed: bool, what: str) -> Callable[[str], None]:
        """``check_class`` bound to one row: what the value decoder calls for each class."""

        def gate(ref: str) -> None:
            self.check_class(ref, signed=signed, what=what)

        return gate

    def _allow_text(self) -> str:
        if not self._allow:
            return "the scheduler has no allow= list"
        return f"its module is outside allow={list(self._allow)!r}"

    def announce(self, store: object) -> None:
        """Log once, when the scheduler first opens ``store``, what an unsigned persistent store
        without ``allow=`` will refuse and how to allow it (a WARNING: jobs added at run time
        will not load after a restart unless allowed)."""
        if self._announced or self._allow:
            return
        if not getattr(store, "persistent", False) or getattr(store, "signs_payloads", False):
            return
        self._announced = True
        logger.warning(
            "%r has no secret_key and the scheduler no allow= list: a stored job loads only if "
            "its callable (and every class its data names) was declared or added in this "
            "process before the store opened; any other stored job is refused before import "
            "and reported broken. To load them, pass Scheduler(allow=['yourpackage']) or give "
            "the store a secret_key (see docs/persistence.md)",
            store,
        )


_HOW = (
    "Declare or add the job in this process, list its package in Scheduler(allow=[...]), "
    "or sign the store with a secret_key (docs/persistence.md)"
)
