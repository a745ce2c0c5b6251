"""A restricted grammar for the formulas and expressions of a study configuration.

A configuration file is data, not code: the formulas it holds are parsed here, before
anything evaluates them, and only this grammar passes::

    formula := [expr "~"] expr
    expr    := term (("+" | "-") term)*
    term    := factor ((":" | "*" | "/") factor)*
    factor  := atom ["**" NUMBER]
    atom    := NAME | NUMBER | FUNCTION "(" expr ("," expr)* ")" | "(" expr ")"

``NAME`` is a column name (letters, digits and ``_``, not starting with ``_``),
``FUNCTION`` one of :data:`FUNCTIONS`. There are no strings, attributes, subscripts,
keywords or lambdas, so ``__import__('os').system('...')`` is refused at its first
quote. Errors name the configuration key, the expression, the position and the rule.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

FUNCTIONS = frozenset({"log", "exp", "abs", "C", "I", "center", "scale", "standardize"})
_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|"
                    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[~+\-*:/(),]))")


class ExpressionError(ValueError):
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
                "allowed (a formula holds column names, numbers, + - * / : ** ~ ( ) , and "
                f"the functions {', '.join(sorted(FUNCTIONS))})")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        i = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, where: str):
        self.text, self.where = text, where
        self.tokens = tokenize(text, where)
        self.i = 0
        self.names: list[str] = []

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def fail(self, rule: str) -> ExpressionError:
        tok = self.token
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
        elif two_sided:
            raise ExpressionError(f"{self.where}: {self.text!r} needs an outcome: "
                                  "'outcome ~ terms'")
        if self.token.kind != "end":
            raise self.fail("expected an operator (+ - * / : ** ~) or the end")

    def expr(self) -> None:
        self.term()
        while self.take("+") or self.take("-"):
            self.term()

    def term(self) -> None:
        self.factor()
        while self.take(":") or self.take("*") or self.take("/"):
            self.factor()

    def factor(self) -> None:
        self.atom()
        if self.take("**"):
            if self.token.kind != "number":
                raise self.fail("a power must be a number")
            self.i += 1

    def atom(self) -> None:
        tok = self.token
        if tok.kind == "number":
            self.i += 1
        elif tok.kind == "name":
            self.name(tok)
        elif self.take("("):
            self.expr()
            if not self.take(")"):
                raise self.fail("expected ')'")
        else:
            raise self.fail("expected a column name, a number, a function or '('")

    def name(self, tok: Token) -> None:
        if tok.text.startswith("_"):
            raise self.fail("names may not start with '_'")
        if keyword.iskeyword(tok.text) or keyword.issoftkeyword(tok.text):
            raise self.fail(f"{tok.text!r} is a Python keyword, not a column name")
        self.i += 1
        if not self.take("("):
            self.names.append(tok.text)
            return
        if tok.text not in FUNCTIONS:
            self.i -= 2
            raise self.fail(f"{tok.text!r} is not an allowed function (allowed: "
                            f"{', '.join(sorted(FUNCTIONS))})")
        self.expr()
        while self.take(","):
            self.expr()
        if not self.take(")"):
            raise self.fail("expected ')' closing the function call")


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
    parser = _Parser(text, where)
    parser.formula(two_sided)
    return tuple(dict.fromkeys(parser.names))


__all__ = ["FUNCTIONS", "ExpressionError", "check_formula", "tokenize"]
