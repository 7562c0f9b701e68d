"""Validated parameters of a study: one pydantic model per experiment, defaults in it only.

An experiment declares its parameters as a :class:`StudyParams` subclass; each field's
type says what is allowed and its default is *the* default (the CLI, the spec builders
and the docs read it from the model).  Fields are checked with the same helpers as the
rest of the package (:mod:`ntkjam._validate`), so the messages name the parameter, show
the value and say what is allowed::

    class MyParams(StudyParams, study="my_study"):
        P: PositiveInt                 # required
        phi: PositiveReal
        margin: Real = 1.0
        source: Choice("relu", "fourier") = "relu"

    MyParams.resolve({"P": 100, "phi": 2})   # {'P': 100, 'phi': 2.0, 'margin': 1.0, ...}
    MyParams.defaults()                       # {'P': None, 'phi': None, 'margin': 1.0, ...}

:meth:`StudyParams.resolve` returns a plain dict with every default filled in, in field
order: that dict is what the sweep store hashes (key scheme 2), so two specs that differ
only by spelling out a default share their tasks.  Errors are the original
``ValueError`` / ``TypeError`` of the failing check, one line, never a pydantic dump;
with several bad values, the one of the first field (in field order) is raised, and the
cross-field rules (``@model_validator(mode="after")``) run only once every field is valid.

Beyond the fixed types, :func:`Checked` makes a field of a study's own one-argument
check (a bound with its own message, a value kept as given) and :func:`Nullable`
lets a field be ``None`` (its default computed by the task).  A study whose resolved
form normalises a value (a choice ``"auto"`` spelled out) overrides
:meth:`StudyParams.resolved`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo

from ntkjam._validate import as_choice, as_int, as_real

__all__ = [
    "Bool",
    "Checked",
    "Choice",
    "Int",
    "NonNegativeReal",
    "Nullable",
    "PositiveInt",
    "PositiveReal",
    "Real",
    "StudyParams",
    "Unit",
]


class _Refused(ValueError):
    """Carries a check's ``TypeError`` through pydantic, which lets a ``TypeError`` escape
    at once (before the fields in front of it are reported); :func:`_original` unwraps it."""

    def __init__(self, error: TypeError) -> None:
        super().__init__(str(error))
        self.error = error


def _field_check(check: Callable[[str, Any], Any]) -> BeforeValidator:
    """A pydantic before-validator calling ``check(name, value)`` with the field's name."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        try:
            return check(info.field_name, value)
        except TypeError as exc:
            raise _Refused(exc) from None

    validate.check = check  # what Nullable wraps
    return BeforeValidator(validate)


def Checked(base: Any, check: Callable[[str, Any], Any]) -> Any:  # noqa: N802 - a type factory
    """A field of type ``base`` whose value is ``check(name, value)``.

    ``check`` raises ``ValueError`` or ``TypeError`` naming the parameter, or returns
    the value to keep (converted, or as given: with ``base = Any`` nothing else touches
    it).  For a bound with its own message, or a value validated by another module.

    Parameters
    ----------
    base : type
        The field's annotation (``Any`` to keep the value as given).
    check : callable
        ``check(name, value) -> value``, raising ``ValueError``/``TypeError`` when refused.

    Returns
    -------
    typing.Annotated
        A field type for a :class:`StudyParams` subclass.

    Examples
    --------
    >>> from ntkjam.core.params import Checked, StudyParams
    >>> def even(name, value):
    ...     if value % 2:
    ...         raise ValueError(f"{name} must be even, got {value}")
    ...     return value
    >>> fields = {"__annotations__": {"k": Checked(int, even)}, "k": 2}
    >>> Even = type("Even", (StudyParams,), fields, study="even")
    >>> Even.resolve({"k": 4})
    {'k': 4}
    >>> try:
    ...     Even.resolve({"k": 3})
    ... except ValueError as exc:
    ...     print(exc)
    k must be even, got 3
    """
    return Annotated[base, _field_check(check)]


def Nullable(field_type: Any) -> Any:  # noqa: N802 - a type factory
    """``field_type`` or ``None`` (e.g. a default that depends on another field).

    Parameters
    ----------
    field_type : typing.Annotated
        A field type of this module (``PositiveInt``, ``Choice(...)``, ``Checked(...)``).

    Returns
    -------
    typing.Annotated
        The same check, with ``None`` passed through.

    Raises
    ------
    TypeError
        ``field_type`` is not a field type of this module.

    Examples
    --------
    >>> from ntkjam.core.params import Nullable, PositiveInt, StudyParams
    >>> class Width(StudyParams, study="width"):
    ...     width: Nullable(PositiveInt) = None
    >>> Width.resolve({}), Width.resolve({"width": 8})
    ({'width': None}, {'width': 8})
    """
    if get_origin(field_type) is not Annotated:
        raise TypeError(f"Nullable needs a field type of this module, got {field_type!r}")
    base, *metadata = get_args(field_type)
    checks = [getattr(m.func, "check", None) for m in metadata if isinstance(m, BeforeValidator)]
    if len(checks) != 1 or checks[0] is None:
        raise TypeError(f"Nullable needs a field type of this module, got {field_type!r}")
    check = checks[0]
    return Annotated[base | None, _field_check(lambda n, v: None if v is None else check(n, v))]


def Int(minimum: int | None = None) -> Any:  # noqa: N802 - a type factory, like typing's
    """An integer field (bools refused), optionally ``>= minimum``.

    Parameters
    ----------
    minimum : int or None
        The smallest allowed value (None: no bound).

    Returns
    -------
    typing.Annotated
        A field type for a :class:`StudyParams` subclass.

    Examples
    --------
    >>> from ntkjam.core.params import Int, StudyParams
    >>> class Depth(StudyParams, study="depth"):
    ...     depth: Int(minimum=1) = 1
    >>> Depth.resolve({"depth": 3})
    {'depth': 3}
    >>> try:
    ...     Depth.resolve({"depth": 0})
    ... except ValueError as exc:
    ...     print("depth" in str(exc))
    True
    """
    return Annotated[int, _field_check(lambda n, v: as_int(n, v, minimum=minimum))]


def _real(*, positive: bool = False, nonnegative: bool = False) -> Any:
    return Annotated[
        float,
        _field_check(lambda n, v: as_real(n, v, positive=positive, nonnegative=nonnegative)),
    ]


def _unit(name: str, value: Any) -> float:
    value = as_real(name, value, nonnegative=True)
    if value > 1:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a boolean, got {value!r}")
    return value


def Choice(*allowed: str) -> Any:  # noqa: N802 - a type factory
    """A string field that must be one of ``allowed``.

    Parameters
    ----------
    *allowed : str
        The allowed values.

    Returns
    -------
    typing.Annotated
        A field type for a :class:`StudyParams` subclass.

    Examples
    --------
    >>> from ntkjam.core.params import Choice, StudyParams
    >>> class Source(StudyParams, study="source"):
    ...     source: Choice("relu", "fourier") = "relu"
    >>> Source.resolve({}), Source.resolve({"source": "fourier"})
    ({'source': 'relu'}, {'source': 'fourier'})
    """
    return Annotated[str, _field_check(lambda n, v: as_choice(n, v, allowed))]


PositiveInt = Int(minimum=1)
Real = _real()
PositiveReal = _real(positive=True)
NonNegativeReal = _real(nonnegative=True)
Unit = Annotated[float, _field_check(_unit)]
Bool = Annotated[bool, _field_check(_bool)]


class StudyParams(BaseModel):
    """Base of the parameter models of the registered experiments.

    Subclass with ``class X(StudyParams, study="name")``; ``name`` prefixes the
    messages about unknown and missing parameters.  Instances are frozen.

    Examples
    --------
    >>> from ntkjam.core.params import PositiveInt, PositiveReal, Real, StudyParams
    >>> class Toy(StudyParams, study="toy"):
    ...     P: PositiveInt
    ...     phi: PositiveReal
    ...     margin: Real = 1.0
    >>> Toy.resolve({"P": 100, "phi": 2})
    {'P': 100, 'phi': 2.0, 'margin': 1.0}
    >>> Toy.defaults()
    {'P': None, 'phi': None, 'margin': 1.0}
    >>> try:
    ...     Toy.resolve({"P": 100})
    ... except ValueError as exc:
    ...     print(exc)
    toy: parameter 'phi' is required
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
    study: ClassVar[str] = "params"

    def __init_subclass__(cls, study: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if study is not None:
            cls.study = study

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter and its default, in field order (``None``: required).

        Examples
        --------
        >>> from ntkjam.core.params import PositiveInt, Real, StudyParams
        >>> class Toy(StudyParams, study="toy"):
        ...     P: PositiveInt
        ...     margin: Real = 1.0
        >>> Toy.defaults()
        {'P': None, 'margin': 1.0}
        """
        return {
            name: (None if field.is_required() else field.default)
            for name, field in cls.model_fields.items()
        }

    @classmethod
    def parse(cls, params: dict[str, Any]) -> StudyParams:
        """The validated model, raising the failing check's own one-line error.

        Raises
        ------
        TypeError
            ``params`` is not a dict, or a value has the wrong type.
        ValueError
            An unknown or missing parameter, or a value out of range.

        Examples
        --------
        >>> from ntkjam.core.params import PositiveInt, Real, StudyParams
        >>> class Toy(StudyParams, study="toy"):
        ...     P: PositiveInt
        ...     margin: Real = 1.0
        >>> Toy.parse({"P": 3})
        Toy(P=3, margin=1.0)
        >>> Toy.parse({"P": 3, "kappa": 1.0})
        Traceback (most recent call last):
        ...
        ValueError: toy: unknown parameter 'kappa'; allowed: P, margin
        """
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict, got {type(params).__name__}")
        fields = cls.model_fields
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise ValueError(
                f"{cls.study}: unknown parameter {unknown[0]!r}; allowed: {', '.join(fields)}"
            )
        missing = [k for k, f in fields.items() if f.is_required() and k not in params]
        if missing:
            raise ValueError(f"{cls.study}: parameter {missing[0]!r} is required")
        try:
            return cls(**params)
        except ValidationError as exc:
            raise _original(exc) from None

    @classmethod
    def resolve(cls, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` validated, every default filled in, as a plain dict in field order.

        The dict the sweep store hashes (key scheme 2): :meth:`resolved` of the model.

        Examples
        --------
        >>> from ntkjam.core.params import PositiveInt, Real, StudyParams
        >>> class Toy(StudyParams, study="toy"):
        ...     P: PositiveInt
        ...     margin: Real = 1.0
        >>> Toy.resolve({"P": 3})
        {'P': 3, 'margin': 1.0}
        >>> Toy.resolve({"P": 3}) == Toy.resolve({"margin": 1, "P": 3})   # one task, one key
        True
        """
        return cls.parse(params).resolved()

    def resolved(self) -> dict[str, Any]:
        """The values as a plain dict in field order, each as its check returned it.

        Override to normalise what the task sees and the store hashes (e.g. a choice
        ``"auto"`` replaced by what it stands for); the override returns a new dict.

        Examples
        --------
        >>> from ntkjam.core.params import Choice, StudyParams
        >>> class Solve(StudyParams, study="solve"):
        ...     solver: Choice("auto", "lp", "qp") = "auto"
        ...     def resolved(self):
        ...         out = super().resolved()
        ...         return {**out, "solver": "lp" if out["solver"] == "auto" else out["solver"]}
        >>> Solve().resolved(), Solve.resolve({"solver": "qp"})
        ({'solver': 'lp'}, {'solver': 'qp'})
        """
        return {name: getattr(self, name) for name in type(self).model_fields}


def _original(exc: ValidationError) -> Exception:
    """The ``ValueError`` / ``TypeError`` a field or model check raised inside pydantic."""
    error = exc.errors(include_url=False)[0]
    inner = (error.get("ctx") or {}).get("error")
    if isinstance(inner, _Refused):
        return inner.error
    if isinstance(inner, Exception):
        return inner
    where = ".".join(str(part) for part in error.get("loc", ()))
    return ValueError(f"{where}: {error.get('msg', 'invalid value')}" if where else str(exc))
