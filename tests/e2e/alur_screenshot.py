"""Render an `alur status --html` report in headless Chromium and read the host boxes off the screenshot.

Chromium is Debian's (/usr/bin/chromium, installed by make test); Playwright only drives it. The page's
topology picture draws each host as a box with a header bar in its state's colour; `render` returns the
screenshot with each box's place on it (from the browser's layout), so a test can check the pixels there.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# As the machine's notes advise for a closed network: no background connections, a fresh profile.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Box:
    name: str
    state: str
    colour: tuple[int, int, int]
    x: int
    y: int
    width: int
    height: int

    def inside(self, width: int, height: int) -> bool:
        return (
            self.width > 0
            and self.height > 0
            and self.x >= 0
            and self.y >= 0
            and (self.x + self.width <= width and self.y + self.height <= height)
        )

    def header_point(self) -> tuple[int, int]:
        """A point in the header bar, clear of its rounded corners and its text."""
        return self.x + self.width // 2, self.y + 4


@dataclass
class Shot:
    image: Image.Image
    boxes: dict[str, Box]

    @property
    def width(self) -> int:
        return int(self.image.width)

    @property
    def height(self) -> int:
        return int(self.image.height)

    def colour_at(self, point: tuple[int, int]) -> tuple[int, int, int]:
        r, g, b = self.image.getpixel(point)[:3]
        return int(r), int(g), int(b)

    def has_ink(self, box: Box) -> bool:
        """Text drawn in the box's header: pixels there that are neither the bar's colour nor the page's."""
        bar = self.image.crop((box.x + 4, box.y + 2, box.x + box.width - 4, box.y + 22)).convert("RGB")
        colours = {c for _, c in bar.getcolors(maxcolors=1 << 16) or []}
        return len(colours - {box.colour}) > 2


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def render(html: Path, png: Path, width: int = 1400, height: int = 1000) -> Shot:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(html.resolve().as_uri())
            data = page.screenshot(path=str(png), full_page=True)
            boxes = {}
            for group in page.locator("g.host").all():
                bound = group.locator("rect").first.bounding_box()
                assert bound is not None
                name = str(group.get_attribute("data-host"))
                boxes[name] = Box(
                    name=name,
                    state=str(group.get_attribute("data-state")),
                    colour=_hex(str(group.locator("rect").nth(1).get_attribute("fill"))),
                    x=round(bound["x"]),
                    y=round(bound["y"]),
                    width=round(bound["width"]),
                    height=round(bound["height"]),
                )
        finally:
            browser.close()
    return Shot(Image.open(io.BytesIO(data)).convert("RGB"), boxes)
