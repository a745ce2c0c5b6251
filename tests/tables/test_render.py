"""The table renderers: snapshots per target and structural checks of each output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import docx
import pytest
import typst
from conftest import ROOT

from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render import (
    TABLE_CSS,
    add_docx_table,
    to_docx,
    to_html,
    to_latex,
    to_markdown,
    to_text,
    to_typst,
    typst_table_body,
)
from ipnstats.tables.render._common import numeric_columns, split_layout

SNAPSHOTS = ROOT / "tests" / "snapshots"
UPDATE = os.environ.get("IPNSTATS_UPDATE_SNAPSHOTS") == "1"
SPECIAL = "Grant & training_cost (in $, 100%) #1 {x}~^\\"
EVERY_SPECIAL = "a\\b&c%d$e#f_g{h}i~j^k<l>m|n*o[p]q`r@s/t//u/*v=w+x-y--z'\"!αβ ² †‡×±≥≤−–—"


def num(text: str, marks: str = "") -> Cell:
    """A numeric cell."""
    return Cell(text, marks=marks, numeric=True)


def regression_table() -> Table:
    """Two fixed-effects models of log revenue, as a journal would print them."""
    stub = Cell("")
    header = (
        (stub, Cell("Log revenue", span=2)),
        (stub, Cell("(1)"), Cell("(2)")),
    )
    rows = (
        Row((Cell("Peer adoption"), num("0.512", "***"), num("0.498", "***"))),
        Row((stub, num("(0.081)"), num("(0.079)"))),
        Row((Cell(SPECIAL), num("-0.080", "**"), num("-0.422", "*"))),
        Row((stub, num("(0.109)"), num("(0.201)"))),
        Row((Cell("Firm size (log)"), num("1.237", "†"), num(""))),
        Row((stub, num("(0.650)"), num(""))),
        Row((Cell("Fixed effects", emphasis="italic"),), section="fe", heading=True),
        Row((Cell("Firm"), Cell("Yes"), Cell("Yes")), section="fe"),
        Row((Cell("Year"), Cell("No"), Cell("Yes")), section="fe"),
        Row((Cell("N"), num("12,345"), num("12,345")), section="stats"),
        Row((Cell("Firms"), num("1,873"), num("1,873")), section="stats"),
        Row((Cell("R² within"), num("0.214"), num("0.238")), section="stats"),
    )
    notes = ("Standard errors in parentheses.", "† p<.10, * p<.05, ** p<.01, *** p<.001")
    return Table(header, rows, title="Peer learning and revenue", notes=notes,
                 label="peer-revenue")


def bare_table() -> Table:
    """No title, notes, label or spanning header; a heading row first; suppressed cells."""
    rows = (
        Row((Cell("Panel A: firms"),), heading=True),
        Row((Cell("Revenue"), num("-1.5"), Cell("", notes=("a",)))),
        Row((Cell("Panel B: groups"),), section="b", heading=True),
        Row((Cell("[Size] * 2"), num("10"), num("-0.25", "*")), section="b"),
    )
    return Table(((Cell("Variable"), Cell("Mean"), Cell("r")),), rows)


def special_table() -> Table:
    """Every special character in the title, header, stub, a numeric cell and notes."""
    rows = (Row((Cell(EVERY_SPECIAL), num("-0.5", "*†"))),)
    return Table(((Cell(EVERY_SPECIAL), Cell(EVERY_SPECIAL)),), rows, title=EVERY_SPECIAL,
                 notes=(EVERY_SPECIAL,), label=EVERY_SPECIAL)


RENDERERS = {"txt": to_text, "md": to_markdown, "html": to_html, "tex": to_latex,
             "typ": to_typst}


# ----------------------------------------------------------------------------- snapshots

def check_snapshot(name: str, text: str) -> None:
    """Compare with ``tests/snapshots/<name>``; write it when missing or asked to."""
    path = SNAPSHOTS / name
    if UPDATE or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        assert UPDATE, (f"snapshot {path} was missing and has been written; check it and "
                        "rerun, or set IPNSTATS_UPDATE_SNAPSHOTS=1 to (re)write snapshots")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (f"{name} differs from its snapshot; if the change is wanted, "
                              "rerun with IPNSTATS_UPDATE_SNAPSHOTS=1")


@pytest.mark.parametrize("ext", sorted(RENDERERS))
def test_regression_snapshot(ext):
    check_snapshot(f"regression_table.{ext}", RENDERERS[ext](regression_table()))


@pytest.mark.parametrize("ext", sorted(RENDERERS))
def test_bare_snapshot(ext):
    check_snapshot(f"bare_table.{ext}", RENDERERS[ext](bare_table()))


# ------------------------------------------------------------------------------- LaTeX

_MATH = re.compile(r"(?<!\\)\$(.*?)(?<!\\)\$")
_CONTROL = re.compile(r"\\(?:[A-Za-z]+|.)", re.DOTALL)
_CONVENTION_UNICODE = re.compile("[²†‡×±≥≤−–—\u0370-\u03ff]")


def physical(table: Table) -> int:
    """Columns of the rendered LaTeX/HTML/Typst table: each numeric column is split in two
    at the decimal point (integer part, decimals), the others stay one."""
    return split_layout(numeric_columns(table))[1]


def check_latex(src: str, n_columns: int) -> None:
    """Structural check of a rendered LaTeX table; raises AssertionError on a fault.

    - ``\\begin{X}``/``\\end{X}`` nest properly, braces balance (``\\{ \\}`` excluded);
    - one ``\\toprule``, one ``\\bottomrule``, at least one ``\\midrule``;
    - every math shift pair holds only ``-`` and commands (``$-$``, ``$\\alpha\\beta$``);
    - once math, ``\\label{}`` and control sequences (``\\&``, ``\\textbackslash`` ...)
      are removed, no ``$ % # _ ^ ~ < > |`` and no Unicode of the text conventions
      remains, and ``&`` only separates columns;
    - every tabular row ends with ``\\\\`` and covers ``n_columns`` columns (``&``
      separators plus the extra width of each ``\\multicolumn``).
    """
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", src):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} does not match"
    assert not stack, f"unclosed environments {stack}"
    stripped = _CONTROL.sub("", src)
    depth = 0
    for char in stripped:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "a closing brace without an opening one"
    assert depth == 0, "unbalanced braces"
    for rule, expected in (("toprule", 1), ("bottomrule", 1)):
        assert len(re.findall(rf"\\{rule}\b", src)) == expected, rule
    assert re.search(r"\\midrule\b", src)
    for math in _MATH.findall(src):
        assert re.fullmatch(r"(?:\\[A-Za-z]+|-)+", math), f"unexpected math ${math}$"
    bare = _CONTROL.sub("", _MATH.sub("", re.sub(r"\\label\{[^}]*\}", "", src)))
    assert not re.search(r"[$%#_^~<>|]", bare), f"unescaped special in {bare!r}"
    assert not _CONVENTION_UNICODE.search(src), "unmapped Unicode symbol"
    body = src.split("\\toprule", 1)[1].split("\\bottomrule", 1)[0]
    for line in body.strip().splitlines():
        if re.fullmatch(r"\s*(\\midrule|(\\cmidrule\(lr\)\{\d+-\d+\}\s*)+)", line):
            continue
        assert line.endswith(" \\\\"), f"row without \\\\: {line!r}"
        plain = _CONTROL.sub("", _MATH.sub("", line))
        spans = sum(int(k) - 1 for k in re.findall(r"\\multicolumn\{(\d+)\}", line))
        assert plain.count("&") + 1 + spans == n_columns, f"wrong column count: {line!r}"


@pytest.mark.parametrize("make", [regression_table, bare_table, special_table])
def test_latex_structure(make):
    table = make()
    check_latex(to_latex(table), physical(table))


def test_latex_layout():
    src = to_latex(regression_table())
    assert src.startswith("\\begin{table}[htbp]\n\\centering\n\\caption{")
    assert "\\label{tab:peer-revenue}" in src
    assert "\\begin{tabular}{lr@{}lr@{}l}" in src  # numbers split at the decimal point
    assert " & \\multicolumn{4}{c}{Log revenue} \\\\\n\\cmidrule(lr){2-5}\n" in src
    assert "\\multicolumn{5}{l}{\\textit{Fixed effects}} \\\\" in src
    assert "$-$0 & .080\\textsuperscript{**}" in src
    assert "R\\textsuperscript{2} within" in src
    assert "\\begin{tablenotes}[flushleft]\n\\footnotesize\n\\item Standard" in src
    assert src.count("\\midrule") == 3


def test_latex_checker_catches_faults():
    good = to_latex(regression_table())
    for bad in (good.replace("\\end{tablenotes}", ""), good.replace("\\&", "&", 1),
                good.replace("\\_", "_"), good.replace("\\%", "%"),
                good.replace("(0 & .109) & (0 & .201) \\\\", "(0 & .109) \\\\"),
                good.replace("\\bottomrule", ""), good.replace("{Log revenue}", "{Log")):
        with pytest.raises(AssertionError):
            check_latex(bad, 5)


def test_latex_escaping():
    src = to_latex(special_table())
    check_latex(src, physical(special_table()))
    for piece in ("a\\textbackslash{}b\\&c\\%d\\$e\\#f\\_g\\{h\\}i\\textasciitilde{}j"
                  "\\textasciicircum{}k\\textless{}l\\textgreater{}m\\textbar{}n*o",
                  "y-{}-z", "$\\alpha\\beta$", "\\textsuperscript{2}", "\\dag{}\\ddag{}",
                  "$\\times\\pm\\geq\\leq-${--}{---}", "\\label{tab:a-b-c"):
        assert piece in src, piece
    assert "\\textsuperscript{*\\dag{}}" in src and "$-$0 & .5" in src
    assert re.search(r"\\label\{tab:[A-Za-z0-9_:.-]+\}", src)
    assert "{}[Size]" in to_latex(bare_table())


# -------------------------------------------------------------------------------- HTML

class _TableParser(HTMLParser):
    """Collects tags (checking that they balance), row widths and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tables = 0
        self.widths: list[int] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        self.tables += tag == "table"
        if tag == "tr":
            self.widths.append(0)
        if tag in ("td", "th"):
            self.widths[-1] += int(dict(attrs).get("colspan") or 1)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"</{tag}> does not balance"

    def handle_data(self, data):
        self.text.append(data)


def parse_html(src: str) -> _TableParser:
    parser = _TableParser()
    parser.feed(src)
    parser.close()
    assert not parser.stack, f"unclosed tags {parser.stack}"
    return parser


@pytest.mark.parametrize("make", [regression_table, bare_table, special_table])
def test_html_single_table(make):
    table = make()
    src = to_html(table)
    parser = parse_html(src)
    assert parser.tables == 1
    assert src.startswith("<table") and src.rstrip().endswith("</table>")
    assert parser.widths and all(w == physical(table) for w in parser.widths)


def test_html_layout():
    src = to_html(regression_table())
    assert '<table class="ipn-table" id="peer-revenue">' in src
    assert src.count('class="section-start') == 2
    assert '<th class="span" colspan="4"' in src
    assert '<td class="int">&minus;0</td><td class="dec">.080<sup>**</sup></td>' in src
    assert '<tfoot>\n<tr><td colspan="5"><p>Standard errors' in src
    assert "table.ipn-table" in TABLE_CSS


def test_html_escaping():
    src = to_html(special_table())
    text = "".join(parse_html(src).text)
    assert text.count(EVERY_SPECIAL) == 5  # caption, two header cells, stub, note
    assert "\u22120.5*†" in text  # the two halves of the split number read on
    assert re.search(r'id="[A-Za-z0-9_:.-]+"', src)


# ---------------------------------------------------------------------------- Markdown

def _md_cells(line: str) -> list[str]:
    """Split a pipe-table line on unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def _md_unescape(text: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def test_markdown_layout():
    src = to_markdown(regression_table())
    lines = src.splitlines()
    assert lines[0] == "**Peer learning and revenue**"
    assert _md_cells(lines[2])[1:] == ["Log revenue<br>(1)", "Log revenue<br>(2)"]
    assert set(_md_cells(lines[3])[1]) == {":", "-"}
    assert "| *Fixed effects* " in src and "-0.080\\*\\*" in src
    assert all(len(_md_cells(line)) == 3 for line in lines if line.startswith("|"))
    assert src.rstrip().endswith("\\*\\*\\* p\\<.001")


def test_markdown_escaping():
    src = to_markdown(special_table())
    lines = src.splitlines()
    assert _md_unescape(lines[0][2:-2]) == EVERY_SPECIAL
    header, _, row = (_md_cells(line) for line in lines[2:5])
    assert [_md_unescape(c) for c in header] == [EVERY_SPECIAL] * 2
    assert _md_unescape(row[0]) == EVERY_SPECIAL and row[1] == "-0.5\\*†"
    assert _md_unescape(lines[-1]) == EVERY_SPECIAL
    assert not re.search(r"(?<!\\)[*_`<>\[\]|~$&#]", lines[-1])


def test_markdown_notes_stay_paragraphs():
    notes = ("1. first", "- dash", "+ plus", "=== rule", "2.5 percent")
    src = to_markdown(Table((), (Row((Cell("a"), num("1"))),), notes=notes))
    paragraphs = src.rstrip().split("\n\n")[1:]
    assert paragraphs == ["1\\. first", "\\- dash", "\\+ plus", "\\=== rule", "2.5 percent"]


# -------------------------------------------------------------------------------- text

def test_text_layout():
    lines = to_text(regression_table()).splitlines()
    assert lines[0] == "Peer learning and revenue" and set(lines[1]) == {"="}
    coef = next(line for line in lines if line.startswith("Grant"))
    se = lines[lines.index(coef) + 1]
    assert coef.index(".080") == se.index(".109")  # decimal points aligned
    assert sum(set(line) == {"-"} for line in lines) == 3
    assert "\u2212" not in "".join(lines)
    assert lines[-2:] == list(regression_table().notes)


def test_text_escaping():
    src = to_text(special_table())
    assert src.count(EVERY_SPECIAL) >= 3 and "-0.5*,†" not in src and "-0.5*†" in src


def test_text_wraps_notes_and_title():
    long = "word " * 40
    table = Table((), (Row((Cell("a"), num("1"))),), title=long, notes=(long,))
    lines = to_text(table).splitlines()
    assert max(len(line) for line in lines) <= 50 and len(lines) > 6


# ------------------------------------------------------------------------------- Typst

PAGE = "#set page(width: auto, height: auto, margin: 1cm)\n"


def poppler(tool: str) -> str:
    """The path of a poppler tool; the test skips without it (.ci/run installs poppler-utils)."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed (Debian package poppler-utils)")
    return path


def compile_typst(markup: str) -> bytes:
    pdf = typst.compile((PAGE + markup).encode("utf-8"), format="pdf")
    assert pdf[:5] == b"%PDF-"
    return pdf


@pytest.mark.parametrize("make", [regression_table, bare_table, special_table])
def test_typst_compiles(make, tmp_path):
    pdf = compile_typst(to_typst(make()))
    (tmp_path / "t.pdf").write_bytes(pdf)
    subprocess.run([poppler("pdftoppm"), "-png", "-r", "80", str(tmp_path / "t.pdf"),
                    str(tmp_path / "t")], check=True)
    assert list(tmp_path.glob("t*.png"))


def test_typst_body_embeds():
    body = typst_table_body(regression_table())
    assert body.startswith("table(\n  columns: 5,")
    assert "table.cell(colspan: 4, align: center)[Log revenue]" in body
    assert "[\u22120], [.080#super[\\*\\*]]" in body
    assert body.count("table.hline(") == 6  # top, cmidrule, header, 2 sections, bottom
    compile_typst(f"#figure(kind: table, caption: [Mine], {body})")


def test_typst_escaping(tmp_path):
    src = to_typst(special_table())
    assert "\\/\\/" in src and "\\/\\*" in src and "\\#" in src and "\\$" in src
    pdf = compile_typst(src)
    (tmp_path / "t.pdf").write_bytes(pdf)
    out = subprocess.run([poppler("pdftotext"), "-layout", str(tmp_path / "t.pdf"), "-"],
                         check=True, capture_output=True, text=True).stdout
    assert EVERY_SPECIAL.replace(" ", "") in out.replace(" ", "")


def test_typst_line_start_markup(tmp_path):
    stubs = ("1. First", "- dash", "+ plus", "= equals", "/ term: x", "a -- b ... c")
    rows = tuple(Row((Cell(s), num("-1"))) for s in stubs)
    pdf = compile_typst(to_typst(Table((), rows)))
    (tmp_path / "t.pdf").write_bytes(pdf)
    out = subprocess.run([poppler("pdftotext"), "-layout", str(tmp_path / "t.pdf"), "-"],
                         check=True, capture_output=True, text=True).stdout
    for stub in stubs[:-1]:
        assert stub in out
    assert "a -- b" in out and "\u22121" in out


# -------------------------------------------------------------------------------- Word

def _docx_texts(path: Path) -> list[list[str]]:
    document = docx.Document(str(path))
    # a number starts with a tab: it sits on its column's decimal tab stop
    return [[cell.text.removeprefix("\t") for cell in row.cells]
            for row in document.tables[0].rows]


def test_docx_holds_the_numbers(tmp_path):
    path = to_docx(regression_table(), tmp_path / "t.docx")
    rows = _docx_texts(path)
    assert len(rows) == 14 and all(len(r) == 3 for r in rows)
    assert rows[0][1:] == ["Log revenue", "Log revenue"]  # merged cell
    assert rows[1] == ["", "(1)", "(2)"]
    assert rows[4] == [SPECIAL, "\u22120.080**", "\u22120.422*"]
    assert rows[6] == ["Firm size (log)", "1.237†", ""]
    assert rows[8] == ["Fixed effects"] * 3
    assert rows[11][1:] == ["12,345", "12,345"] and rows[13] == ["R² within", "0.214", "0.238"]


def test_docx_format(tmp_path):
    document = docx.Document()
    add_docx_table(document, regression_table())
    add_docx_table(document, bare_table())
    document.save(str(tmp_path / "two.docx"))
    document = docx.Document(str(tmp_path / "two.docx"))
    assert len(document.tables) == 2
    first = document.tables[0]
    assert len(first.rows[0]._tr.tc_lst) == 2  # the spanning header cell is merged
    runs = first.cell(4, 1).paragraphs[0].runs
    assert [r.text for r in runs] == ["\t\u22120.080", "**"] and runs[1].font.superscript
    assert first.cell(1, 1).paragraphs[0].runs[0].bold
    xml = first._tbl.xml
    assert xml.count('w:sz="12"') == 5 and "w:insideH" not in xml
    assert document.paragraphs[0].text == "Peer learning and revenue"
    assert document.paragraphs[0].style.name == "Caption"


def test_docx_escaping(tmp_path):
    rows = _docx_texts(to_docx(special_table(), tmp_path / "s.docx"))
    assert rows == [[EVERY_SPECIAL] * 2, [EVERY_SPECIAL, "\u22120.5*†"]]
