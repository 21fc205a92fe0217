"""Role README variable tables, generated from each role's meta/argument_specs.yml.

`python -m alur.roledocs` rewrites the table between the markers in every roles/*/README.md;
`--check` only reports stale tables (the test suite runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from alur.paths import project_root

BEGIN = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml: python -m alur.roledocs) -->"
END = "<!-- END VARIABLES -->"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _type(option: dict[str, Any]) -> str:
    kind = str(option.get("type", "str"))
    if kind == "list" and "elements" in option:
        kind = f"list of {option['elements']}"
    if "choices" in option:
        kind += " (" + ", ".join(f"`{c}`" for c in option["choices"]) + ")"
    return kind


def _default(role: Path, name: str) -> str:
    defaults_file = role / "defaults" / "main.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.is_file() else {}
    if not defaults or name not in defaults:
        return "-"
    value = defaults[name]
    rendered = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    rendered = rendered.removesuffix("...").strip()
    return f"`{_cell(rendered)}`"


def render_table(role: Path) -> str:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    lines: list[str] = []
    for entry, spec in specs.items():
        if len(specs) > 1:
            lines.append(f"\nEntry point `{entry}`: {_cell(spec.get('short_description', ''))}\n")
        lines += ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
        for name, option in (spec.get("options") or {}).items():
            default = "*required*" if option.get("required") else _default(role, name)
            description = option.get("description", "")
            if isinstance(description, list):
                description = " ".join(description)
            lines.append(f"| `{name}` | {_cell(_type(option))} | {default} | {_cell(description)} |")
            for sub, sub_option in (option.get("options") or {}).items():
                required = " (required)" if sub_option.get("required") else ""
                lines.append(
                    f"| &nbsp;&nbsp;`.{sub}` | {_cell(_type(sub_option))} | - | "
                    f"{_cell(sub_option.get('description', ''))}{required} |"
                )
    return "\n".join(lines).strip() + "\n"


def update(role: Path, check: bool) -> bool:
    """Rewrite (or check) one README; returns True when it was (or would be) changed."""
    readme = role / "README.md"
    text = readme.read_text() if readme.is_file() else f"# Role `{role.name}`\n\n## Variables\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: add the markers {BEGIN!r} and {END!r} where the table goes")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{render_table(role)}{END}{tail}"
    if new == text:
        return False
    if not check:
        readme.write_text(new)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    roles = sorted(p.parent.parent for p in (project_root() / "roles").glob("*/meta/argument_specs.yml"))
    stale = [role.name for role in roles if update(role, check)]
    if stale and check:
        print(f"stale variable tables in: {', '.join(stale)} (run: python -m alur.roledocs)")
        return 1
    for name in stale:
        print(f"updated roles/{name}/README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
