"""A restricted grammar for the formulas and expressions of a study configuration.

A configuration file is data, not code: the formulas it holds are parsed here, before
anything evaluates them, and only this grammar passes::

    formula := [expr "~" expr ["|" fixef]] | expr
    fixef   := effect ("+" effect)*
    effect  := NAME ("^" NAME)*
    expr    := term (("+" | "-") term)*
    term    := factor ((":" | "*" | "/") factor)*
    factor  := atom ["**" NUMBER]
    atom    := NAME | NUMBER | FUNCTION "(" expr ("," expr)* ")" | "(" expr ")"

``NAME`` is a column name (letters, digits and ``_``, not starting with ``_``),
``FUNCTION`` one of :data:`FUNCTIONS`. After ``|`` come the fixed effects to absorb, as
R fixest and pyfixest write them (``y ~ x | firm_id + industry^year``, see
:func:`ipnstats.panel_regression`). There are no strings, attributes, subscripts,
keywords or lambdas, so ``__import__('os').system('...')`` is refused at its first
quote. Errors name the configuration key, the expression, the position and the rule.

So that no formula can exhaust the machine when formulaic expands it or Python evaluates
the arithmetic inside a function call, the grammar also bounds its size:

- a formula has at most :data:`MAX_LENGTH` (2,000) characters and nests parentheses and
  function calls at most :data:`MAX_DEPTH` (20) deep;
- the power of a term or group, which expands interactions (``(a + b + c) ** 2``), is a
  whole number from 1 to :data:`MAX_INTERACTION_POWER` (3), and each side of a formula
  expands to at most :data:`MAX_TERMS` (200) terms (``a*b*c*d*e*f*g*h`` has 255), and
  at most :data:`MAX_TERMS` fixed effects follow ``|``;
- inside a function call (``I(age ** 2)``) an exponent is at most :data:`MAX_EXPONENT`
  (10), a number at most :data:`MAX_LITERAL` (1e15), and an integer constant at most
  :data:`MAX_DIGITS` (300) digits long (``I((9 ** 10) ** 10)`` is fine, nesting more
  powers of it is not).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from ipnstats.core.errors import ConfigError

MAX_LENGTH = 2000  # characters in one formula
MAX_DEPTH = 20  # nested parentheses and function calls
MAX_TERMS = 200  # terms a side of a formula may expand to
MAX_INTERACTION_POWER = 3  # (a + b + c) ** 3: interactions up to three-way
MAX_EXPONENT = 10  # I(x ** 10): exponents inside a function call
MAX_LITERAL = 1e15  # the largest number written in a formula
MAX_DIGITS = 300  # digits an integer constant may reach inside a function call
FUNCTIONS = frozenset({"log", "exp", "abs", "C", "I", "center", "scale", "standardize"})
_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|"
                    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[~+\-*:/(),|^]))")


class ExpressionError(ConfigError):
    """A configuration expression that the restricted grammar refuses."""


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    position: int


def tokenize(text: str, where: str = "expression") -> list[Token]:
    """Split ``text`` into tokens; any other character is an :class:`ExpressionError`."""
    tokens, i = [], 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        match = _TOKEN.match(text, i)
        if not match:
            j = i + len(text[i:]) - len(text[i:].lstrip())
            raise ExpressionError(
                f"{where}: character {text[j]!r} at position {j + 1} of {text!r} is not "
                "allowed (a formula holds column names, numbers, + - * / : ** ~ | ^ ( ) , and "
                f"the functions {', '.join(sorted(FUNCTIONS))})")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        i = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


@dataclass(frozen=True)
class _Part:
    """What a piece of a formula expands to.

    ``terms``: in the formula proper, the model terms (each a set of factors) it expands
    to; ``digits``: inside a function call, where Python evaluates the arithmetic, the
    decimal digits a constant made of integers only can reach (None: the value is a
    float or depends on the data, and so cannot grow without bound).
    """

    terms: frozenset = frozenset()
    digits: float | None = None


_INTERCEPT = _Part(frozenset({frozenset()}))


class _Parser:
    def __init__(self, text: str, where: str):
        self.text, self.where = text, where
        self.tokens = tokenize(text, where)
        self.i = 0
        self.names: list[str] = []
        self.depth = 0  # open parentheses and function calls
        self.calls = 0  # open function calls: > 0 is Python arithmetic

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def fail(self, rule: str, tok: Token | None = None) -> ExpressionError:
        tok = tok or self.token
        found = "the end" if tok.kind == "end" else repr(tok.text)
        return ExpressionError(f"{self.where}: {rule}, found {found} at position "
                               f"{tok.position + 1} of {self.text!r}")

    def take(self, text: str) -> bool:
        if self.token.kind == "op" and self.token.text == text:
            self.i += 1
            return True
        return False

    def formula(self, two_sided: bool | None) -> None:
        self.expr()
        if self.take("~"):
            if two_sided is False:
                raise ExpressionError(f"{self.where}: {self.text!r} must be a right-hand "
                                      "side only (no ~)")
            self.expr()
            if self.take("|"):
                self.fixef()
        elif two_sided:
            raise ExpressionError(f"{self.where}: {self.text!r} needs an outcome: "
                                  "'outcome ~ terms'")
        if self.token.text == "^" and self.token.kind == "op":
            raise self.fail("'^' combines fixed effects after '|' ('| firm_id + "
                            "industry^year'); in the model part write a:b for an interaction")
        if self.token.kind != "end":
            raise self.fail("expected an operator (+ - * / : ** ~ |) or the end")

    def fixef(self) -> None:
        """The fixed effects after ``|``: ``NAME ("^" NAME)*`` joined by ``+``."""
        count = 0
        while True:
            self.fixef_name()
            while self.take("^"):
                self.fixef_name()
            count += 1
            if count > MAX_TERMS:
                raise self.fail(f"at most {MAX_TERMS} fixed effects may follow '|'")
            if not self.take("+"):
                break
        if self.token.kind == "op" and self.token.text in ("|", "~"):
            raise self.fail("nothing may follow the fixed effects (no second '|', no "
                            "instrumental variables '| endog ~ instrument')")

    def fixef_name(self) -> None:
        tok = self.token
        after = self.tokens[min(self.i + 1, len(self.tokens) - 1)]
        if tok.kind != "name" or (after.kind == "op" and after.text == "("):
            raise self.fail("after '|' come fixed effects: column names joined by '+', "
                            "'a^b' combining two ('| firm_id + industry^year')")
        self.name(tok)

    def expr(self) -> _Part:
        part = self.term()
        while self.token.text in ("+", "-") and self.token.kind == "op":
            op = self.token
            self.i += 1
            right = self.term()
            terms = part.terms | right.terms if op.text == "+" else part.terms - right.terms
            part = self.checked(_Part(terms, _sum(part.digits, right.digits)), op)
        return part

    def term(self) -> _Part:
        part = self.factor()
        while self.token.text in (":", "*", "/") and self.token.kind == "op":
            op = self.token
            self.i += 1
            right = self.factor()
            part = self.checked(_combine(op.text, part, right, self.calls > 0), op)
        return part

    def factor(self) -> _Part:
        part = self.atom()
        if self.token.kind == "op" and self.token.text == "**":
            op = self.token
            self.i += 1
            if self.token.kind != "number":
                raise self.fail("a power must be a number")
            power = self.token
            if self.calls:
                if float(power.text) > MAX_EXPONENT:
                    raise self.fail(f"an exponent may be at most {MAX_EXPONENT}")
                self.i += 1
                digits = (None if part.digits is None or not power.text.isdigit()
                          else part.digits * int(power.text))
                return self.checked(_Part(digits=digits), op)
            if not power.text.isdigit() or not 1 <= int(power.text) <= MAX_INTERACTION_POWER:
                raise self.fail(f"the power of a term or group (its interactions) must be "
                                f"a whole number from 1 to {MAX_INTERACTION_POWER}; for "
                                "arithmetic write I(x ** 2)")
            self.i += 1
            product = part
            for _ in range(int(power.text) - 1):
                product = self.checked(_combine("*", product, part, False), op)
            return product
        return part

    def atom(self) -> _Part:
        tok = self.token
        if tok.kind == "number":
            value = float(tok.text)
            if not value <= MAX_LITERAL:
                raise self.fail(f"a number may be at most {MAX_LITERAL:.0e}".replace("+", ""))
            self.i += 1
            if self.calls == 0:
                return _INTERCEPT
            is_int = tok.text.isdigit()
            return _Part(digits=len(tok.text.lstrip("0")) if is_int else None)
        if tok.kind == "name":
            return self.name(tok)
        if self.take("("):
            self.enter(tok)
            part = self.expr()
            if not self.take(")"):
                raise self.fail("expected ')'")
            self.depth -= 1
            return part
        raise self.fail("expected a column name, a number, a function or '('")

    def name(self, tok: Token) -> _Part:
        if tok.text.startswith("_"):
            raise self.fail("names may not start with '_'")
        if keyword.iskeyword(tok.text) or keyword.issoftkeyword(tok.text):
            raise self.fail(f"{tok.text!r} is a Python keyword, not a column name")
        self.i += 1
        if not self.take("("):
            self.names.append(tok.text)
            return _Part(frozenset({frozenset({tok.text})}))
        if tok.text not in FUNCTIONS:
            self.i -= 2
            raise self.fail(f"{tok.text!r} is not an allowed function (allowed: "
                            f"{', '.join(sorted(FUNCTIONS))})")
        self.enter(self.tokens[self.i - 1])
        self.calls += 1
        first = self.expr()
        while self.take(","):
            self.expr()
        if not self.take(")"):
            raise self.fail("expected ')' closing the function call")
        self.calls -= 1
        self.depth -= 1
        # I() and abs() keep a Python integer an integer; the others give floats
        digits = first.digits if tok.text in ("I", "abs") else None
        call = self.text[tok.position:self.tokens[self.i - 1].position + 1]
        return _Part(frozenset({frozenset({call})}), digits)

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"parentheses and function calls may be nested at most "
                            f"{MAX_DEPTH} deep", tok)

    def checked(self, part: _Part, op: Token) -> _Part:
        """``part``, unless it expands to too many terms or to a too large constant."""
        if self.calls == 0 and len(part.terms) > MAX_TERMS:
            raise self.fail(f"the formula expands to more than {MAX_TERMS} terms here", op)
        if part.digits is not None and part.digits > MAX_DIGITS:
            raise self.fail(f"a constant here would have more than {MAX_DIGITS} digits", op)
        return part


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else max(a, b) + 1


def _combine(op: str, a: _Part, b: _Part, arithmetic: bool) -> _Part:
    """``a op b`` for ``:``, ``*`` and ``/``: Python arithmetic inside a function call,
    Wilkinson-Rogers term expansion outside (``a*b = a + b + a:b``, ``a/b = a +
    a:b``)."""
    if arithmetic:
        if op == "/" or a.digits is None or b.digits is None:
            return _Part()  # true division gives a float
        return _Part(digits=a.digits + b.digits)
    if op == "/":
        whole = frozenset().union(*a.terms)
        return _Part(a.terms | {whole | t for t in b.terms})
    products = frozenset(x | y for x in a.terms for y in b.terms)
    return _Part(products if op == ":" else a.terms | b.terms | products)


def check_formula(text: str, *, where: str = "formula",
                  two_sided: bool | None = None) -> tuple[str, ...]:
    """Parse ``text`` with the restricted grammar; return the column names it uses.

    Parameters
    ----------
    text
        A formula (``"y ~ x + log(z)"``) or a right-hand side (``"x + C(industry)"``).
    where
        Where the text comes from, for the error (``"analyses/ipn_study.toml [H1]
        covariates[0]"``).
    two_sided
        ``True``: an outcome and ``~`` are required; ``False``: refused; ``None``: either.

    Raises
    ------
    ExpressionError
        On the first token that breaks the grammar.

    Examples
    --------
    >>> check_formula("log_revenue ~ member + log(employees) + C(industry)")
    ('log_revenue', 'member', 'employees', 'industry')
    >>> check_formula("y ~ __import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ipnstats.pipeline.grammar.ExpressionError: formula: character "'" at position 16 ...
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"{where}: expected a non-empty formula string, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{where}: a formula may be at most {MAX_LENGTH} characters "
                              f"long; this one has {len(text):,} (position {MAX_LENGTH + 1} "
                              "is past the end)")
    parser = _Parser(text, where)
    parser.formula(two_sided)
    return tuple(dict.fromkeys(parser.names))


__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_DIGITS", "MAX_EXPONENT", "MAX_INTERACTION_POWER",
           "MAX_LENGTH", "MAX_LITERAL", "MAX_TERMS", "ExpressionError", "check_formula",
           "tokenize"]
