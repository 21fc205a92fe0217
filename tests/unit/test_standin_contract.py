"""The stand-ins' contract table (tests/standins/contract/*.yml): every rule names its source, the stand-in code that
enforces it and the test that shows the stand-in refusing a violation, and those really exist."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "tests" / "standins" / "contract"
PROGRAM = ROOT / "tests" / "standins" / "program"
# A source is a vendor document (an https URL on the vendor's or the project's site) or the product's own source at
# a tag or commit: owner/repo@ref path.
SOURCE = re.compile(r"https://\S+|[\w.-]+/[\w.-]+@[\w.+-]+ \S+")
MIN_RULES = 40


def load() -> list[dict]:
    tables = [yaml.safe_load(path.read_text()) for path in sorted(CONTRACT.glob("*.yml"))]
    return [{**rule, "product": table["product"]} for table in tables for rule in table.get("rules", [])]


@cache
def top_level_names(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{m.name}" for m in node.body if isinstance(m, ast.FunctionDef)}
    return frozenset(names)


RULES = load()


def test_the_table_holds_enough_rules_with_unique_ids() -> None:
    ids = [rule["id"] for rule in RULES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert len(RULES) >= MIN_RULES, f"{len(RULES)} rules, want at least {MIN_RULES}"


@pytest.mark.parametrize("rule", RULES, ids=[rule["id"] for rule in RULES])
def test_rule_has_a_source_enforcement_and_test(rule: dict) -> None:
    assert rule.get("rule", "").strip(), "says what the product does"
    sources = rule.get("source") or []
    sources = [sources] if isinstance(sources, str) else sources
    assert sources and all(SOURCE.search(s) for s in sources), f"source is a URL or owner/repo@ref path: {sources}"
    module, _, function = rule["enforced_by"].partition(".")
    assert function in top_level_names(PROGRAM / f"{module}.py"), f"{rule['enforced_by']} is in the stand-in program"
    tests = rule["test"] if isinstance(rule["test"], list) else [rule["test"]]
    for test in tests:
        file, _, name = test.partition("::")
        assert name.split("[")[0] in top_level_names(ROOT / file), f"{test} exists"
