"""Generated number tables are blanked before parsing: same definitions and lines, far fewer nodes."""

from __future__ import annotations

import time

import pytest

import repo_auditor.parsing.definitions as definitions
from repo_auditor.parsing.data_tables import MIN_BYTES, MIN_RUN_LINES, blank_data_runs
from repo_auditor.parsing.definitions import parse_definitions, parse_tree


def _table(rows: int, row: str) -> str:
    return "".join(row for _ in range(rows))


C_SOURCE = (
    "static const unsigned char kTable[] = {\n"
    + _table(2000, "116,105,109,101,100,0x6F,0x77,110,108,105,102,\n")
    + "0};\n"
    + "static const Pair kPairs[] = {\n"
    + _table(400, "{4,0,683},{4,10,325},{138,10,\n125},{7,11,572},\n")
    + "};\n"
    "int lookup(int i) { return kTable[i]; }\n"
    "struct after { int x; };\n"
)
PY_SOURCE = (
    "TABLE = [\n" + _table(3000, "    (0x41, 0x5A), (97, 122),\n") + "]\n\n\n"
    "def lookup(i):\n    return TABLE[i]\n\n\nclass After:\n    pass\n"
)
RUST_SOURCE = (
    "pub const TABLE: &[(u32, u32)] = &[\n" + _table(3000, "    (0x41, 0x5A), (97u32, 122),\n") + "];\n"
    "pub fn lookup(i: usize) -> u32 { TABLE[i].0 }\nstruct After;\n"
)


@pytest.mark.parametrize(
    ("language", "source", "names"),
    [("c", C_SOURCE, ["lookup", "after"]), ("python", PY_SOURCE, ["lookup", "After"]),
     ("rust", RUST_SOURCE, ["lookup", "After"])],
)
def test_a_table_is_blanked_and_the_definitions_around_it_do_not_move(language, source, names, monkeypatch):
    data = source.encode()
    blanked = blank_data_runs(data)
    assert len(blanked) == len(data) and blanked.count(b"\n") == data.count(b"\n")
    assert blanked.count(b"0x") < data.count(b"0x") // 100  # the table is gone
    found = parse_definitions(language, data)
    monkeypatch.setattr(definitions, "blank_data_runs", lambda source: source)
    assert found == parse_definitions(language, data)  # exactly what a full parse reports
    assert [d.name for d in found if d.name in names] == names
    lines = data.decode().splitlines()
    lookup_line = next(number for number, text in enumerate(lines, 1) if "lookup(" in text)
    assert [d.start_line for d in found if d.name == names[0]] == [lookup_line]


def test_the_parse_has_far_fewer_nodes():
    def count(tree):
        cursor, nodes = tree.walk(), 0
        while True:
            nodes += 1
            if cursor.goto_first_child() or cursor.goto_next_sibling():
                continue
            while cursor.goto_parent():
                if cursor.goto_next_sibling():
                    break
            else:
                return nodes

    data = C_SOURCE.encode()
    assert count(parse_tree("c", data)) * 20 < count(definitions.Parser(definitions.load_language("c")).parse(data))


def test_short_runs_small_files_code_and_unpaired_brackets_are_kept():
    short = _table(MIN_RUN_LINES - 1, "1, 2, 3,\n")
    padding = "x = call(a, b)\n" * (MIN_BYTES // 10)
    assert blank_data_runs((short + padding).encode()) == (short + padding).encode()
    small = _table(50, "1, 2, 3,\n").encode()
    assert len(small) < MIN_BYTES and blank_data_runs(small) == small
    code = _table(2000, "    total = 1 + x, 2\n").encode()  # a name on every line: code, not data
    assert blank_data_runs(code) == code
    # A run that starts inside an element (``{9,`` ... ``592},``) would leave half an element: kept.
    unpaired = ("{\n" + _table(2000, "{7,11,572},{9,\n11,592},\n")[: -len("11,592},\n")] + "};\n").encode()
    run_start = unpaired.index(b"{7")
    assert blank_data_runs(unpaired)[run_start:] == unpaired[run_start:]


@pytest.mark.parametrize(
    "hostile",
    [b"1," * 500_000, b"1,2,3,4 x\n" * 100_000, (b"1,2\n" * 7 + b"x\n") * 60_000, b"(" * 500_000 + b"1",
     (b"1 " * 40 + b"a\n") * 12_000, b"0" * 1_000_000 + b"x\n"],
)
def test_matching_stays_linear_on_hostile_input(hostile):
    """A backtracking pattern here took minutes on a 1 MB file; this one reads it in well under a second."""
    started = time.perf_counter()
    blank_data_runs(hostile)
    assert time.perf_counter() - started < 5
