"""The HTML status report: rendered with Jinja2 from the project's templates/status.html.j2, with a
topology picture (inline SVG) laid out here: a box per host with its addresses and services coloured
by health, a bus per network the hosts share, and the log and build flows between the hosts.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from alur import __version__
from alur.errors import AlurError
from alur.paths import project_root
from alur.status import HostStatus, StatusReport

TEMPLATE = "status.html.j2"

# (from group, to group, flow, label): who talks to whom once the whole site is deployed.
FLOWS: tuple[tuple[str, str, str, str], ...] = (
    ("filebeat", "logstash", "logs", "Beats :5044"),
    ("logstash", "elasticsearch", "logs", "bulk :9200"),
    ("kibana", "elasticsearch", "logs", "queries :9200"),
    ("jenkins", "jenkins_agents", "build", "agent over SSH"),
)

COLOURS = {"up": "#2e7d32", "down": "#c62828", "unknown": "#9e9e9e", "degraded": "#ef6c00"}

BOX_WIDTH = 230
BOX_GAP = 40
PER_ROW = 4
MARGIN = 30
FLOW_SPACE = 120
LINE = 16


@dataclass
class Box:
    name: str
    x: int
    y: int
    width: int
    height: int
    colour: str
    state: str
    groups: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (text, colour)


@dataclass
class Bus:
    network: str
    y: int
    x1: int
    x2: int
    drops: list[int]  # x of each attached host
    top: int  # y where the drops start (bottom of the boxes)


@dataclass
class Flow:
    source: str
    target: str
    kind: str
    label: str
    path: str
    label_x: int
    label_y: int
    colour: str


def health(host: HostStatus) -> str:
    if not host.reachable:
        return "down"
    if any(s.up is False for s in host.services):
        return "degraded"
    if any(s.up is None for s in host.services):
        return "unknown" if not host.services else "degraded"
    return "up"


def service_state(up: bool | None) -> str:
    return "up" if up else ("unknown" if up is None else "down")


def flows(groups: dict[str, list[str]]) -> list[tuple[str, str, str, str]]:
    edges = []
    for source_group, target_group, kind, label in FLOWS:
        for source in groups.get(source_group, []):
            for target in groups.get(target_group, []):
                if source != target and (source, target, kind, label) not in edges:
                    edges.append((source, target, kind, label))
    return edges


def _networks(host: HostStatus) -> set[str]:
    nets = set()
    for address in host.addresses:
        if address.family == "inet" and address.scope == "global":
            nets.add(str(ipaddress.ip_interface(address.cidr).network))
    return nets


def topology(report: StatusReport) -> dict[str, Any]:
    """Coordinates of everything the SVG draws."""
    hosts = report.hosts
    rows = max(1, (len(hosts) + PER_ROW - 1) // PER_ROW)
    lines_needed = max([2 + len(h.addresses) + len(h.services) for h in hosts] or [2])
    box_height = 40 + LINE * lines_needed
    networks = sorted({net for h in hosts for net in _networks(h)})
    row_height = FLOW_SPACE + box_height + 30 + 28 * len(networks)
    columns = min(PER_ROW, max(1, len(hosts)))
    width = MARGIN * 2 + columns * BOX_WIDTH + (columns - 1) * BOX_GAP
    boxes: dict[str, Box] = {}
    for index, host in enumerate(hosts):
        row, column = divmod(index, PER_ROW)
        state = health(host)
        box = Box(
            name=host.name,
            x=MARGIN + column * (BOX_WIDTH + BOX_GAP),
            y=MARGIN + row * row_height + FLOW_SPACE,
            width=BOX_WIDTH,
            height=box_height,
            colour=COLOURS[state],
            state=state,
            groups=", ".join(host.groups) or "no group",
        )
        for address in host.addresses:
            box.lines.append((f"{address.interface} {address.cidr}", "#37474f"))
        if not host.reachable:
            box.lines.append(("unreachable", COLOURS["down"]))
        for service in host.services:
            text = service.name + (f" {service.version}" if service.version else "")
            box.lines.append((text, COLOURS[service_state(service.up)]))
        boxes[host.name] = box
    buses: list[Bus] = []
    for row in range(rows):
        row_hosts = hosts[row * PER_ROW : (row + 1) * PER_ROW]
        for n, network in enumerate(networks):
            attached = [boxes[h.name] for h in row_hosts if network in _networks(h)]
            if not attached:
                continue
            top = attached[0].y + box_height
            y = top + 24 + 28 * n
            drops = [b.x + 30 + 14 * n for b in attached]
            buses.append(Bus(network=network, y=y, x1=MARGIN, x2=width - MARGIN, drops=drops, top=top))
    drawn: list[Flow] = []
    for number, (source, target, kind, label) in enumerate(flows(report.groups)):
        if source not in boxes or target not in boxes:
            continue
        a, b = boxes[source], boxes[target]
        x1 = a.x + a.width // 2 + (number % 3 - 1) * 18
        x2 = b.x + b.width // 2 + (number % 3 - 1) * 18
        lift = 40 + 22 * (number % 4)
        top = min(a.y, b.y) - lift
        path = f"M{x1},{a.y} C{x1},{top} {x2},{top} {x2},{b.y - 6}"
        colour = "#ef6c00" if kind == "logs" else "#1565c0"
        drawn.append(Flow(source, target, kind, label, path, (x1 + x2) // 2, top + lift // 4 + 4, colour))
    height = MARGIN * 2 + rows * row_height
    return {"width": width, "height": height, "boxes": list(boxes.values()), "buses": buses, "flows": drawn}


def template_folder() -> Path:
    """The project's templates/, else those of the checkout alur runs from."""
    for folder in (project_root() / "templates", Path(__file__).resolve().parents[2] / "templates"):
        if (folder / TEMPLATE).is_file():
            return folder
    raise AlurError(f"templates/{TEMPLATE} not found in {project_root()}")


def render_html(report: StatusReport, templates: Path | None = None) -> str:
    folder = templates or template_folder()
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template(TEMPLATE)
    return template.render(
        report=report,
        topology=topology(report),
        colours=COLOURS,
        health=health,
        service_state=service_state,
        version=__version__,
    )


def write_html(report: StatusReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
