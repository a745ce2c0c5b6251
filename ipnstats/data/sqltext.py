"""The text side of reading a database: redacting URLs, checking a query, naming tables.

Pure functions on strings, no driver needed: :func:`redact` hides a URL's password and
secret parameters, :func:`check_query` lets through only a single read statement, and
:func:`resolve_table` finds the table a codebook names in a database's catalog.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from ipnstats.core.errors import SpecificationError

SECRET_PARAM = re.compile(r"pass|pwd|secret|token", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL with its password and any secret query parameter replaced by ``***``.

    >>> redact("postgresql://ann:s3cret@db.example:5432/ipn?sslpassword=x&sslmode=require")
    'postgresql://ann:***@db.example:5432/ipn?sslpassword=***&sslmode=require'
    """
    m = re.match(r"([a-z][a-z0-9+.-]*://)([^/?#]*)(.*)\Z", url, re.IGNORECASE | re.DOTALL)
    if not m:
        return redact_text(url)
    scheme, netloc, rest = m.groups()
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = userinfo.split(":", 1)[0] + ":***@" + host
    path, question, query = rest.partition("?")
    if question:
        query, hash_, fragment = query.partition("#")
        items = [item.split("=", 1)[0] + "=***"
                 if "=" in item and SECRET_PARAM.search(unquote(item.split("=", 1)[0])) else item
                 for item in query.split("&")]
        path += "?" + "&".join(items) + hash_ + fragment
    return redact_text(scheme + netloc + path)  # also a password holding an unescaped / or #


def redact_text(text: str) -> str:
    """Redact URL passwords and ``password=...`` settings anywhere in a text."""
    text = re.sub(r"([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s]*@", r"\1:***@", text,
                  flags=re.IGNORECASE)
    return re.sub(r"(\b\w*(?:pass|pwd|secret|token)\w*\s*[=:]\s*)('[^']*'|\"[^\"]*\"|[^\s&'\"]+)",
                  r"\1***", text, flags=re.IGNORECASE)


_QUERY_STARTS = {"select", "with", "values", "table"}
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


def _skeleton(sql: str) -> str:
    """``sql`` with comments and quoted text blanked (same length): what is left is code.

    Raises SpecificationError for an unterminated string, identifier or comment.
    """
    out, i, n = [], 0, len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
        elif sql.startswith("/*", i):
            end, depth = i + 2, 1
            while depth:
                nxt = min((p for p in (sql.find("/*", end), sql.find("*/", end)) if p >= 0),
                          default=-1)
                if nxt < 0:
                    raise SpecificationError("a /* comment */ is not closed")
                depth += 1 if sql.startswith("/*", nxt) else -1
                end = nxt + 2
        elif c in "'\"`":
            backslash = c == "'" and i > 0 and sql[i - 1] in "eE" and (
                i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
            end = i + 1
            while True:
                if end >= n:
                    raise SpecificationError(f"a {c}quoted{c} text is not closed")
                if backslash and sql[end] == "\\":
                    end += 2
                elif sql[end] == c:
                    if end + 1 < n and sql[end + 1] == c:
                        end += 2
                    else:
                        end += 1
                        break
                else:
                    end += 1
        elif c == "$" and (m := _DOLLAR.match(sql, i)) and not (
                i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            close = sql.find(m.group(0), m.end())
            if close < 0:
                raise SpecificationError(f"a {m.group(0)}-quoted text is not closed")
            end = close + len(m.group(0))
        else:
            out.append(c)
            i += 1
            continue
        out.append(" " * (end - i) if c in "-/" else c + "x" * (end - i - 2) + sql[end - 1])
        i = end
    return "".join(out)


def check_query(sql: str) -> str:
    """The query as it will be sent (trailing ``;`` and comments cut), if it is one read.

    Raises SpecificationError (the reason) unless ``sql`` is a single SELECT, WITH, VALUES or
    TABLE statement: a second statement after a ``;`` is refused before anything is sent.

    >>> check_query("SELECT * FROM crm.members; -- all of them")
    'SELECT * FROM crm.members'
    """
    code = _skeleton(sql)
    end = len(code.rstrip().rstrip(";").rstrip())
    while end and code[end - 1] == ";":  # several trailing semicolons
        end = len(code[: end - 1].rstrip())
    if ";" in code[:end]:
        raise SpecificationError("it holds more than one statement (a ';' followed by more SQL); "
                                 "give a single SELECT")
    first = re.match(r"[\s(]*([A-Za-z]+)", code[:end])
    if not first:
        raise SpecificationError("it is empty")
    if first.group(1).lower() not in _QUERY_STARTS:
        raise SpecificationError(
            f"it starts with {first.group(1).upper()}, and ipnstats only reads: "
            "give a single SELECT (or WITH, VALUES, TABLE) query")
    return sql[:end]


def _split_name(text: str) -> list[tuple[str, bool]] | None:
    """``schema.table`` -> [(part, quoted), ...]; double-quoted parts may hold dots."""
    token = re.compile(r'\s*(?:"((?:[^"]|"")+)"|([^."]+?))\s*(\.|$)')
    parts, pos = [], 0
    while pos < len(text):
        m = token.match(text, pos)
        if not m or (m.group(3) == "." and m.end() == len(text)):
            return None
        quoted = m.group(1) is not None
        parts.append((m.group(1).replace('""', '"') if quoted else m.group(2), quoted))
        pos = m.end()
    return parts or None


def _pick(part: str, quoted: bool, options: list[str]) -> list[str]:
    if part in options:
        return [part]
    return [] if quoted else [o for o in options if o.casefold() == part.casefold()]


def resolve_table(text: str, catalog: list[tuple[str, str]], search: list[str]):
    """(schema, table) for a table name, None when there is none, or a str: the problem."""
    parts = _split_name(text)
    if parts is None or len(parts) > 2:
        return f"{text!r} is not a table name: write table or schema.table"
    if len(parts) == 2:
        schemas = _pick(*parts[0], sorted({s for s, _ in catalog}))
        if len(schemas) > 1:
            return f"several schemas match {parts[0][0]!r}: {', '.join(schemas)}; quote the name"
    else:
        schemas = search
    for schema in schemas:
        names = _pick(*parts[-1], [t for s, t in catalog if s == schema])
        if len(names) > 1:
            return (f"several tables in {schema} match {parts[-1][0]!r}: {', '.join(names)}; "
                    "quote the name")
        if names:
            return schema, names[0]
    return None


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
