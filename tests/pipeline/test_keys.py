"""The key reference of the documentation (ipnstats.pipeline.keys) lists exactly the keys
the readers accept, with the defaults they apply."""

import tomllib

import pytest

from ipnstats.data.codebook import QUALTRICS_KEYS, SCALE_KEYS, STUDY_KEYS
from ipnstats.data.mapping import KEYS as TABLE_KEYS
from ipnstats.data.schema import TABLES
from ipnstats.pipeline import keys
from ipnstats.pipeline.claims_config import CLAIM_KEYS
from ipnstats.pipeline.config import CHOICES, MODEL_KEYS, SCHEMA, ConfigError, load_config
from ipnstats.pipeline.power import OUTPUT_KEYS, POWER_KEYS, RUN_KEYS


def test_every_configuration_key_is_described_once():
    table = keys.config_keys()
    listed = set(zip(table.section, table.key, strict=True))
    accepted = {(s, k) for s, ks in SCHEMA.items() for k in ks}
    accepted |= {("[models]", k) for k in MODEL_KEYS} | {("[claims]", k) for k in CLAIM_KEYS}
    assert listed == accepted and len(table) == len(accepted)
    assert set(keys.CONFIG_MEANING) == {(s, k) for s, ks in SCHEMA.items() for k in ks}
    assert set(CHOICES) <= set(keys.CONFIG_MEANING)
    assert table.meaning.str.len().min() > 10


def test_documented_defaults_are_the_defaults_the_reader_applies(tmp_path):
    """A configuration that writes out every documented default (as TOML) reads to the same
    settings as one that leaves every key out."""
    (tmp_path / "study").mkdir()
    table = keys.config_keys()
    lines = []
    for section in SCHEMA:
        lines.append(f"[{section}]")
        for row in table[table.section == section].itertuples():
            if row.default != "(required)":
                lines.append(f"{row.key} = {row.default}")
    lines.insert(lines.index("[study]") + 1, 'folder = "study"')
    written = tmp_path / "written.toml"
    written.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tomllib.loads(written.read_text(encoding="utf-8"))  # every default is valid TOML
    bare = tmp_path / "bare.toml"
    bare.write_text('[study]\nfolder = "study"\n', encoding="utf-8")
    a, b = load_config(written), load_config(bare)
    for section in SCHEMA:
        assert dict(a[section]) == dict(b[section]), section


def test_allowed_values_are_the_ones_the_reader_accepts(tmp_path):
    (tmp_path / "study").mkdir()
    table = keys.config_keys()
    path = tmp_path / "c.toml"
    for (section, key), choices in CHOICES.items():
        kind = SCHEMA[section][key][0]
        for choice in choices:
            value = f'["{choice}"]' if kind is list else f'"{choice}"'
            path.write_text(f'[study]\nfolder = "study"\n[{section}]\n{key} = {value}\n',
                            encoding="utf-8")
            assert load_config(path)[section][key] in (choice, [choice])
        row = table[(table.section == section) & (table.key == key)]
        assert row.allowed.item() == ", ".join(f"`{c}`" for c in choices)
    path.write_text('[study]\nfolder = "study"\n[verdict]\nadjust = "sidak"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="adjust"):
        load_config(path)


def test_codebook_and_power_keys_are_complete():
    cb = keys.codebook_keys()
    listed = set(zip(cb.section, cb.key, strict=True))
    expected = ({("study", k) for k in STUDY_KEYS} | {("scales.<scale>", k) for k in SCALE_KEYS}
                | {("qualtrics", k) for k in QUALTRICS_KEYS}
                | {("tables.<table>", k) for k in TABLE_KEYS}
                | {("stages", "<stage>"), ("labels", "<column>")})
    assert listed == expected == set(keys.CODEBOOK_MEANING)
    assert cb.loc[cb.key == "disclosure_threshold", "default"].item() == "3"
    pw = keys.power_keys()
    assert set(zip(pw.section, pw.key, strict=True)) == (
        {("power", k) for k in POWER_KEYS} | {("run", k) for k in RUN_KEYS}
        | {("output", k) for k in OUTPUT_KEYS}) == set(keys.POWER_MEANING)
    design = keys.design_keys()
    assert set(design.hypothesis) == {"two_group", "h1", "h2", "h3"}
    assert design.loc[design.key == "n_per_group", "default"].item() == "50"


def test_schema_reference_has_every_column_with_its_rules():
    table = keys.schema_columns()
    assert len(table) == sum(len(t.columns) for t in TABLES.values())
    row = table[(table.table == "exchanges") & (table.column == "framing")].iloc[0]
    assert row.kind == "choice" and row.rule == "loss, gain, neutral" and row.key == ""
    row = table[(table.table == "financials") & (table.column == "year")].iloc[0]
    assert row.key == "yes" and row.rule == "1800 to 2200" and row.required == "yes"
    row = table[(table.table == "memberships") & (table.column == "exit_date")].iloc[0]
    assert row["may be empty"] == "yes"


def test_markdown_table_escapes_pipes():
    import pandas as pd
    text = keys.markdown_table(pd.DataFrame({"a": ["x|y"], "b": [1]}))
    assert text.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | 1 |"]
    frame = pd.DataFrame({"key": ["seed", "folder"], "default": ["0", "(required)"]})
    assert keys.markdown_table(frame).splitlines()[2:] == ["| `seed` | `0` |",
                                                          "| `folder` | (required) |"]
