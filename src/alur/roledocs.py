"""Role documentation generated from each role's meta/argument_specs.yml, its one source: the variable table of
roles/*/README.md and the comment above each variable in roles/*/defaults/main.yml (the option's description).

`python -m alur.roledocs` rewrites the table between the markers in every README and the comment right above every
top-level variable of the defaults that argument_specs describes (other comments and variables stay as they are);
`--check` only reports what is stale (the test suite runs it).
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from alur.paths import project_root

BEGIN = "<!-- BEGIN VARIABLES (generated from meta/argument_specs.yml: python -m alur.roledocs) -->"
END = "<!-- END VARIABLES -->"
# The defaults' comments wrap where the project's Python does (yamllint would allow 160).
COMMENT_WIDTH = 120
TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(?:\s|$)")
# Linter directives in a variable's comment block are kept, right above the variable.
DIRECTIVE = re.compile(r"^#\s*(yamllint|noqa)\b")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _type(option: dict[str, Any]) -> str:
    kind = str(option.get("type", "str"))
    if kind == "list" and "elements" in option:
        kind = f"list of {option['elements']}"
    if "choices" in option:
        kind += " (" + ", ".join(f"`{c}`" for c in option["choices"]) + ")"
    return kind


def _description(option: dict[str, Any]) -> str:
    description = option.get("description", "")
    if isinstance(description, list):
        description = " ".join(str(part) for part in description)
    return " ".join(str(description).split())


def _specs(role: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"])


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
    specs = _specs(role)
    lines: list[str] = []
    for entry, spec in specs.items():
        if len(specs) > 1:
            lines.append(f"\nEntry point `{entry}`: {_cell(spec.get('short_description', ''))}\n")
        lines += ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
        for name, option in (spec.get("options") or {}).items():
            default = "*required*" if option.get("required") else _default(role, name)
            lines.append(f"| `{name}` | {_cell(_type(option))} | {default} | {_cell(_description(option))} |")
            for sub, sub_option in (option.get("options") or {}).items():
                required = " (required)" if sub_option.get("required") else ""
                lines.append(
                    f"| &nbsp;&nbsp;`.{sub}` | {_cell(_type(sub_option))} | - | "
                    f"{_cell(sub_option.get('description', ''))}{required} |"
                )
    return "\n".join(lines).strip() + "\n"


def descriptions(role: Path) -> dict[str, str]:
    """Each option's description; an option of several entry points takes main's (else the first one's)."""
    found: dict[str, str] = {}
    for _, spec in sorted(_specs(role).items(), key=lambda entry: entry[0] != "main"):
        for name, option in (spec.get("options") or {}).items():
            if text := _description(option or {}):
                found.setdefault(name, text)
    return found


def comment(description: str) -> list[str]:
    return textwrap.wrap(
        description,
        width=COMMENT_WIDTH,
        initial_indent="# ",
        subsequent_indent="# ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_defaults(text: str, described: dict[str, str]) -> str:
    """The defaults file with the comment block right above each described top-level variable (the comment lines
    touching it) replaced by its description. A comment parted from the variable by a blank line is not its own."""
    out: list[str] = []
    for line in text.splitlines():
        key = TOP_LEVEL_KEY.match(line)
        if key and key.group(1) in described:
            directives: list[str] = []
            while out and out[-1].startswith("#"):
                old = out.pop()
                if DIRECTIVE.match(old):
                    directives.insert(0, old)
            out += comment(described[key.group(1)]) + directives
        out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def update_defaults(role: Path, check: bool) -> bool:
    """Rewrite (or check) one role's defaults comments; returns True when they were (or would be) changed."""
    defaults = role / "defaults" / "main.yml"
    if not defaults.is_file():
        return False
    text = defaults.read_text()
    new = render_defaults(text, descriptions(role))
    if new == text:
        return False
    if not check:
        defaults.write_text(new)
    return True


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
    stale = [f"roles/{role.name}/README.md" for role in roles if update(role, check)]
    stale += [f"roles/{role.name}/defaults/main.yml" for role in roles if update_defaults(role, check)]
    if stale and check:
        print(f"stale against meta/argument_specs.yml: {', '.join(stale)} (run: python -m alur.roledocs)")
        return 1
    for path in stale:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
