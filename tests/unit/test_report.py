"""The HTML status report: rendered from templates/, with hosts, networks, flows and health colours."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from alur import report
from alur.status import Address, HostStatus, ServiceHealth, StatusReport

GROUPS = {
    "jenkins": ["ci"],
    "jenkins_agents": ["app1", "app2"],
    "elasticsearch": ["logs"],
    "logstash": ["logs"],
    "kibana": ["logs"],
    "filebeat": ["app1", "app2"],
}


def host(name: str, last: int, reachable: bool = True, nft_up: bool | None = True) -> HostStatus:
    groups = sorted(g for g, members in GROUPS.items() if name in members)
    result = HostStatus(name=name, groups=groups, endpoint=f"10.89.0.{last}:22", reachable=reachable)
    if reachable:
        result.addresses = [
            Address("eth0", "inet", f"10.89.0.{last}/24", "global"),
            Address("eth1", "inet", f"192.168.10.{last}/24", "global"),
        ]
        result.services = [
            ServiceHealth("sshd", True, "10.0p2", f"ssh://alur@10.89.0.{last}:22"),
            ServiceHealth("nftables", nft_up, "1.1.3", None, "input policy drop"),
        ]
    else:
        result.error = "cannot reach: No route to host"
    return result


def lab_report() -> StatusReport:
    hosts = [host("app1", 2), host("app2", 3, reachable=False), host("ci", 4), host("logs", 5, nft_up=False)]
    return StatusReport(inventory="inventory/lab", generated="2025-01-01T00:00:00+00:00", hosts=hosts, groups=GROUPS)


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hosts: dict[str, str] = {}
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "g" and values.get("data-host"):
            self.hosts[str(values["data-host"])] = str(values.get("data-state"))


def test_the_report_draws_every_host_with_its_health() -> None:
    html = report.render_html(lab_report())
    parsed = Collect()
    parsed.feed(html)
    assert parsed.hosts == {"app1": "up", "app2": "down", "ci": "up", "logs": "degraded"}
    assert "svg" in parsed.tags
    for text in ("192.168.10.2/24", "10.89.0.0/24", "192.168.10.0/24", "unreachable", "1.1.3"):
        assert text in html
    assert report.COLOURS["down"] in html and report.COLOURS["degraded"] in html


def test_flows_follow_the_groups() -> None:
    edges = report.flows(GROUPS)
    assert ("app1", "logs", "logs", "Beats :5044") in edges
    assert ("ci", "app2", "build", "agent over SSH") in edges
    assert not [e for e in edges if e[0] == e[1]]  # logstash -> elasticsearch on one host is no arrow
    html = report.render_html(lab_report())
    assert len(re.findall(r'class="flow flow-logs"', html)) == 2
    assert len(re.findall(r'class="flow flow-build"', html)) == 2


def test_boxes_do_not_overlap_and_fit_the_picture() -> None:
    many = StatusReport("inv", "now", [host(f"h{i}", i + 10) for i in range(9)], {})
    layout = report.topology(many)
    boxes = layout["boxes"]
    for a in boxes:
        assert a.x >= 0 and a.x + a.width <= layout["width"] and a.y + a.height <= layout["height"]
        for b in boxes:
            if a is not b:
                apart = a.x + a.width <= b.x or b.x + b.width <= a.x or a.y + a.height <= b.y or b.y + b.height <= a.y
                assert apart, (a.name, b.name)


def test_host_names_are_escaped(tmp_path: Path) -> None:
    odd = StatusReport("inv", "now", [host("<script>", 9)], {})
    path = report.write_html(odd, tmp_path / "out" / "status.html")
    assert "<script>" not in path.read_text() and "&lt;script&gt;" in path.read_text()
