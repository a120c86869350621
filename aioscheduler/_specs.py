"""Validation at the door: a job's callable, trigger, arguments and options become a
:class:`~aioscheduler._values.JobSpec`, or a typed error at registration, never at the first
firing. Also the scheduler's store and time zone arguments."""

from __future__ import annotations

import dataclasses
import inspect
import weakref
from collections.abc import Callable, Mapping
from datetime import tzinfo
from types import FunctionType
from typing import Any, cast

from ._admission import Admission
from ._clock import Clock
from ._values import Executor, JobOptions, JobOptionsKw, JobSpec, make_options, with_executor
from .errors import InvalidConfiguration, InvalidJob, InvalidTrigger
from .stores._base import Store
from .stores.memory import MemoryStore
from .triggers import Trigger
from .triggers._time import to_zone

__all__ = (
    "SpecMaker",
    "check_call",
    "default_executor",
    "job_id_of",
    "resolve_store",
    "resolve_timezone",
    "same_callable",
)

_INLINE_ATTR = "__aioscheduler_inline__"


def default_executor(func: Callable[..., Any]) -> Executor:
    """The executor a callable runs on by default: its nature decides."""
    return _default_executor(func, _known(func))


def _default_executor(func: Callable[..., Any], known: _Known | None) -> Executor:
    if known is not None:
        return known[1]
    if getattr(func, _INLINE_ATTR, False):
        return "inline"
    if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - async callable objects
    ):
        return "async"
    return "thread"


def job_id_of(func: Callable[..., Any]) -> str:
    """The default job id of a callable: ``module.qualname``."""
    module = getattr(func, "__module__", None) or "<unknown>"
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}.{qualname}"


def same_callable(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """Whether two callables are the same function (one may be a re-import of the other)."""
    return a is b or (
        job_id_of(a) == job_id_of(b)
        and getattr(a, "__code__", None) is getattr(b, "__code__", None)
    )


def resolve_timezone(value: str | tzinfo | None) -> tzinfo | None:
    """The scheduler's ``timezone`` argument as a tzinfo."""
    if value is None:
        return None
    try:
        return to_zone(value, "scheduler timezone")
    except InvalidTrigger as exc:
        raise InvalidConfiguration(str(exc)) from None


def resolve_store(store: Store | str | None, **keys: Any) -> Store:
    """The scheduler's ``store`` argument (a store, a URL, ``None``) as a store."""
    if keys and not isinstance(store, str):
        raise InvalidConfiguration(
            "secret_key, old_keys and encrypt apply to a store URL; give them to the store "
            f"object itself, e.g. SQLiteStore(path, secret_key=...), not with {store!r}"
        )
    if store is None:
        return MemoryStore()
    if isinstance(store, Store):
        return store
    if isinstance(store, str):
        if store in ("memory", "memory://") and not keys:
            return MemoryStore()
        from .stores import store_from_url

        return store_from_url(store, **keys)
    raise InvalidConfiguration(f"store must be a Store, a store URL or None, got {store!r}")


def check_call(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any], job_id: str
) -> None:
    """Refuse, at registration, arguments the callable cannot be called with.

    Raises:
        InvalidJob: ``func(*args, **kwargs)`` would fail to bind (a missing, extra or
            unknown argument); the message shows the signature.
    """
    _check_call(func, args, kwargs, job_id, _known(func))


def _check_call(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    job_id: str,
    known: _Known | None,
) -> None:
    shape: object = None
    if known is not None:
        if not args and not kwargs:
            if known[2]:
                return  # a plain function that takes no required argument, called with none
        else:  # whether bind() succeeds depends only on how many args and which kwargs
            shape = (len(args), *kwargs) if kwargs else len(args)
            if shape in known[6]:
                return
    try:
        signature = known[0] if known is not None else inspect.signature(func)
    except (TypeError, ValueError):  # some builtins have no signature: nothing to check
        return
    try:
        signature.bind(*args, **kwargs)
        if shape is not None and known is not None and len(known[6]) < _MAX_SHAPES:
            known[6].add(shape)
    except TypeError as exc:
        shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        bare = signature.replace(
            parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
            return_annotation=signature.empty,
        )
        raise InvalidJob(
            f"job {job_id!r}: {_name(func)}{bare} cannot be called with ({shown}): {exc}"
        ) from None


# What registration learns of a plain function, reused by the next add() of the same function
# (adding many jobs of one function is the common case). Only for a plain function with an
# empty ``__dict__`` (no ``__wrapped__``/``__signature__``/inline mark), and only while its
# code and defaults are the same objects: then inspect.signature() and iscoroutinefunction()
# would give the same answers again. The last item holds the argument shapes (how many
# positional arguments, which keywords) that ``signature.bind()`` accepted: a bind depends
# on nothing else, so the next add() with the same shape skips it (1-2 µs).
_Known = tuple[inspect.Signature, Executor, bool, object, object, object, set[object]]
_KNOWN: weakref.WeakKeyDictionary[FunctionType, _Known] = weakref.WeakKeyDictionary()
#: At most this many argument shapes are remembered per function.
_MAX_SHAPES = 32


def _dead() -> None:
    return None


#: ``(weakref to the function, its _Known)`` of the last lookup: ``_KNOWN.get`` is a Python
#: method that makes a weak reference per call; the same function again is the common case.
_last_known: tuple[Callable[[], object], _Known | None] = (_dead, None)


def _known(func: Callable[..., Any]) -> _Known | None:
    """The cached (signature, default executor, callable with no argument) of a plain
    function, computed on first use; ``None`` for anything else."""
    global _last_known
    if type(func) is not FunctionType or func.__dict__:
        return None
    code, defaults, kwdefaults = func.__code__, func.__defaults__, func.__kwdefaults__
    last_ref, known = _last_known
    if last_ref() is not func:
        known = _KNOWN.get(func)
        if known is not None:
            _last_known = (weakref.ref(func), known)
    if known is not None and known[3] is code and known[4] is defaults and known[5] is kwdefaults:
        return known
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    executor: Executor = "async" if inspect.iscoroutinefunction(func) else "thread"
    try:
        signature.bind()
        bare = True
    except TypeError:
        bare = False
    known = (signature, executor, bare, code, defaults, kwdefaults, set())
    _KNOWN[func] = known
    _last_known = (weakref.ref(func), known)
    return known


#: Classes already seen to be triggers (``isinstance`` through ``ABCMeta`` costs 0.1 µs; a
#: class, once a virtual or real subclass of ``Trigger``, stays one).
_TRIGGER_CLASSES: set[type] = set()

#: ``Trigger.anchor`` itself: a trigger class that keeps it needs no clock reading at add().
_NO_ANCHOR = Trigger.anchor

#: The last ``(options, executor, with_executor(options, executor))``: the jobs added one
#: after another mostly share their options object (``make_options`` reuses it), and an
#: identity check is cheaper than ``with_executor``'s cache, which hashes every option.
_last_with: tuple[JobOptions | None, Executor | None, JobOptions | None] = (None, None, None)


def _with_executor(options: JobOptions, executor: Executor) -> JobOptions:
    global _last_with
    last_options, last_executor, last = _last_with
    if options is last_options and executor == last_executor and last is not None:
        return last
    result = with_executor(options, executor)
    _last_with = (options, executor, result)
    return result


#: ``JobSpec``'s slots, as :class:`_SpecBuilder` has them.
_SPEC_FIELDS = ("id", "func", "trigger", "args", "kwargs", "options")
if tuple(f.name for f in dataclasses.fields(JobSpec)) != _SPEC_FIELDS:  # pragma: no cover
    raise RuntimeError("JobSpec's fields changed: update _specs._SpecBuilder")


class _SpecBuilder:
    """The slots of a ``JobSpec``, in its order, settable: :func:`_new_spec` fills one, then
    makes it a ``JobSpec`` by ``__class__`` assignment (allowed between classes with the same
    slots). Plain attribute stores are cheaper than a frozen dataclass's ``__init__``
    (``object.__setattr__`` per field: 0.7 µs) or its slot descriptors' ``__set__`` (0.36 µs):
    0.24 µs."""

    __slots__ = _SPEC_FIELDS

    def __init__(
        self,
        job_id: str,
        func: Callable[..., Any],
        trigger: Trigger,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: JobOptions,
    ) -> None:
        self.id = job_id
        self.func = func
        self.trigger = trigger
        self.args = args
        self.kwargs = kwargs
        self.options = options


def _new_spec(
    job_id: str,
    func: Callable[..., Any],
    trigger: Trigger,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: JobOptions,
) -> JobSpec:
    """``JobSpec(...)`` for checked values, in a third of the time (see :class:`_SpecBuilder`).
    Equal to the dataclass's own: a check at import compares them."""
    spec: Any = _SpecBuilder(job_id, func, trigger, args, kwargs, options)
    spec.__class__ = JobSpec
    return cast(JobSpec, spec)


_probe: Any = (print, None, (1,), {"a": 1}, None)  # any values: nothing checks them here
if _new_spec("x", *_probe) != JobSpec("x", *_probe):  # pragma: no cover
    raise RuntimeError("_specs._new_spec no longer builds the JobSpec its dataclass does")
del _probe


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or type(func).__qualname__


def _check_process_callable(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], job_id: str
) -> None:
    import pickle

    try:
        pickle.dumps((func, args, kwargs))
    except Exception as exc:
        raise InvalidJob(
            f"job {job_id!r} uses executor='process' but its callable or arguments cannot "
            f"be sent to a process ({type(exc).__name__}: {exc}); use a module-level "
            f"function and picklable arguments"
        ) from exc


class SpecMaker:
    """Builds checked job specs for one scheduler (its time zone, clock, store, admission)."""

    def __init__(
        self, timezone: tzinfo | None, clock: Clock, store: Store, admission: Admission
    ) -> None:
        self.timezone = timezone
        self._clock = clock
        self._store = store
        self._admission = admission

    def make(
        self,
        func: Callable[..., Any],
        trigger: Trigger,
        *,
        id: str | None,
        args: Any,
        kwargs: Mapping[str, Any] | None,
        options: JobOptions,
        store_check: bool = True,
    ) -> JobSpec:
        """Check everything about a job and return its spec.

        Raises:
            InvalidJob: a bad callable, id, argument or option.
            InvalidTrigger: the trigger cannot be bound (a naive ``At`` without a timezone).
        """
        if not callable(func):
            raise InvalidJob(f"func must be callable, got {func!r}")
        if type(trigger) not in _TRIGGER_CLASSES:
            if isinstance(trigger, Trigger):
                if len(_TRIGGER_CLASSES) < 64:  # bounded: the set keeps its classes alive
                    _TRIGGER_CLASSES.add(type(trigger))
            else:
                raise InvalidJob(
                    f"trigger must be a Trigger (Every, Cron, At, After, Ticks...), got {trigger!r}"
                )
        trigger = trigger.bind(self.timezone)
        if type(trigger).anchor is not _NO_ANCHOR:  # most triggers do not need the time
            trigger = trigger.anchor(self._clock.now())
        job_id = job_id_of(func) if id is None else id
        if not isinstance(job_id, str) or not job_id:
            raise InvalidJob(f"id must be a non-empty str, got {job_id!r}")
        if args.__class__ is not tuple:
            if isinstance(args, str | bytes) or not isinstance(args, tuple | list):
                raise InvalidJob(f"args must be a tuple or list, got {args!r}")
            args = tuple(args)
        if kwargs is None:
            kwargs = {}
        elif not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
            raise InvalidJob(f"kwargs must be a mapping with str keys, got {kwargs!r}")
        else:
            kwargs = dict(kwargs)
        known = _known(func)
        executor = options.executor
        natural = _default_executor(func, known)
        if executor is None:
            options = _with_executor(options, natural)
        elif executor in ("thread", "inline", "process") and natural == "async":
            raise InvalidJob(
                f"executor={executor!r} cannot run coroutine function {job_id!r}; "
                f"use executor='async' (the default for coroutine functions)"
            )
        if options.executor == "process":
            _check_process_callable(func, args, kwargs, job_id)
        spec = _new_spec(job_id, func, trigger, args, kwargs, options)
        store = self._store
        check = getattr(store, "check_spec", None)
        if check is not None and store_check:
            check(spec)
        _check_call(func, args, kwargs, job_id, known)  # a wrong args= fails here, once
        if store.persistent:  # this process chose this code: its rows may name it
            self._admission.register_spec(spec)
        return spec

    def from_kw(
        self,
        func: Callable[..., Any],
        trigger: Trigger,
        options: JobOptionsKw,
        *,
        store_check: bool = True,
    ) -> JobSpec:
        """The spec of a declared job (decorator options, as ``add()`` takes them)."""
        opts: dict[str, Any] = dict(options)
        job_id = opts.pop("id", None)
        args = opts.pop("args", ())
        kwargs = opts.pop("kwargs", None)
        opts.pop("paused", None)
        opts.pop("replace", None)
        opts.pop("run_at_start", None)
        if opts.get("backoff") is None:
            opts.pop("backoff", None)
        try:
            job_options = make_options(**opts)
        except TypeError as exc:
            raise InvalidJob(f"unknown job option: {exc}") from None
        return self.make(
            func,
            trigger,
            id=job_id,
            args=args,
            kwargs=kwargs,
            options=job_options,
            store_check=store_check,
        )
