"""Deprecated spellings that keep working for one minor version, with a warning.

- :func:`renamed` — a keyword argument with a new name (``@renamed(y="outcome")``).
- :func:`former_defaults` — a default that a general estimator no longer has (a study
  column name such as ``unit="firm_id"``): a call that omits the argument still gets the
  old value, with a warning that asks for it explicitly.
- :func:`renamed_classes` — a module ``__getattr__`` that serves an old class name.
- :func:`deprecated_call` — the warning itself, for a deprecated method or option value.

Every warning is a :class:`DeprecationWarning` that names the replacement.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ipnstats.core.formula import SpecificationError

F = TypeVar("F", bound=Callable[..., Any])


def deprecated_call(message: str, skip: int = 1) -> None:
    """Emit ``message`` as a :class:`DeprecationWarning` attributed to the user's call.

    Called from a deprecated function or method (``skip`` frames of it: 2 from a helper
    of the deprecated function), or from one of this module's wrappers; the warning skips
    those frames and every wrapper of this module around them.
    """
    frame, level = sys._getframe(1), 2
    if frame.f_code.co_filename != __file__:  # the deprecated function itself
        for _ in range(skip):
            frame, level = frame.f_back, level + 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)


def renamed(**old_to_new: str) -> Callable[[F], F]:
    """Decorator: the keyword arguments ``old=`` are now called ``new=``.

    A call with an old name works as before and warns; a call with both names is a
    :class:`SpecificationError`. The table is kept on the wrapper as ``__renamed__``.

    Examples
    --------
    >>> @renamed(y="outcome")
    ... def fit(data, *, outcome):
    ...     return outcome
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     fit(None, y="sales")
    'sales'
    """
    def decorate(func: F) -> F:
        params = inspect.signature(func).parameters
        for old, new in old_to_new.items():
            if new not in params or old in params:
                raise TypeError(f"renamed({old}={new!r}): {func.__qualname__} must take "
                                f"{new!r} and not {old!r}")
        name = func.__name__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise SpecificationError(f"{name}() got both {old}= and {new}=; {old}= is "
                                             f"the deprecated name of {new}=, pass {new}= only")
                deprecated_call(f"{name}(): the argument {old}= is deprecated; use {new}= "
                                "(the old name is removed in the next minor version)")
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        wrapper.__renamed__ = {**getattr(func, "__renamed__", {}), **old_to_new}
        return wrapper  # type: ignore[return-value]
    return decorate


def former_defaults(**defaults: Any) -> Callable[[F], F]:
    """Decorator: keyword-only arguments that used to have these defaults are now required.

    A call that omits one gets the old default and a warning asking to pass it; the
    signature shows the argument as required. The table is kept as ``__former_defaults__``.
    """
    def decorate(func: F) -> F:
        params = inspect.signature(func).parameters
        for arg in defaults:
            p = params.get(arg)
            if p is None or p.kind is not p.KEYWORD_ONLY or p.default is not p.empty:
                raise TypeError(f"former_defaults({arg}=...): {func.__qualname__} must take "
                                f"{arg!r} as a required keyword-only argument")
        name = func.__name__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for arg, value in defaults.items():
                if arg not in kwargs:
                    deprecated_call(f"{name}(): {arg}= has no default any more; pass "
                                    f"{arg}={value!r} (the former default) explicitly")
                    kwargs[arg] = value
            return func(*args, **kwargs)

        wrapper.__former_defaults__ = dict(defaults)
        return wrapper  # type: ignore[return-value]
    return decorate


def renamed_classes(module: str, namespace: Mapping[str, Any],
                    old_to_new: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving each old class name as the new class, with a warning.

    Use as ``__getattr__ = renamed_classes(__name__, globals(), {"Old": "OldResult"})``.
    """
    table = dict(old_to_new)

    def __getattr__(name: str) -> Any:
        if name in table:
            deprecated_call(f"{module}.{name} is deprecated; use {table[name]} (the old name "
                            "is removed in the next minor version)")
            return namespace[table[name]]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    __getattr__.__renamed_classes__ = table
    return __getattr__


__all__ = ["deprecated_call", "former_defaults", "renamed", "renamed_classes"]
