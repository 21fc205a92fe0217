"""A tiny PNG line-and-whisker plot with no plotting library: the benchmark's figure.

Text uses a built-in 3x5 pixel font (digits, a few letters and signs), scaled up.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", " ": "000000000000000",
    "s": "000011110001110", "h": "100100111101101", "o": "000111101101111", "t": "010111010010011",
    "e": "000111111100111", "x": "000101010101101", "-": "000000111000000", "/": "001001010100100",
    "a": "000111011101111", "r": "000111100100100", "n": "000111101101101", "u": "000101101101111",
    "c": "000111100100111", "d": "001111101101111", "g": "000111101111001", "i": "010000010010010",
    "l": "010010010010011", "p": "000111101111100", "m": "000111111101101", "f": "011100110100100",
    "y": "000101101011001", "k": "100101110101101", "b": "100111101101111", "v": "000101101101010",
    "w": "000101101111111", "+": "000010111010000", "q": "000111101111001", "z": "000111011110111",
    "j": "001000001001110", ",": "000000000010100", "%": "101001010100101", "(": "010100100100010",
    ")": "010001001001010", ":": "000010000010000", "=": "000111000111000",
}  # fmt: skip

Color = tuple[int, int, int]


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def dot(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i : i + 3] = bytes(color)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        for y in range(min(y0, y1), max(y0, y1) + 1):
            for x in range(min(x0, x1), max(x0, x1) + 1):
                self.dot(x, y, color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, width: int = 1) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in range(steps + 1):
            x = round(x0 + (x1 - x0) * s / steps)
            y = round(y0 + (y1 - y0) * s / steps)
            self.rect(x, y, x + width - 1, y + width - 1, color)

    def text(self, x: int, y: int, text: str, color: Color = (0, 0, 0), scale: int = 2) -> None:
        for ch in text.lower():
            glyph = FONT.get(ch, FONT[" "])
            for i, bit in enumerate(glyph):
                if bit == "1":
                    left, top = x + (i % 3) * scale, y + (i // 3) * scale
                    self.rect(left, top, left + scale - 1, top + scale - 1, color)
            x += 4 * scale

    def save(self, path: Path) -> None:
        rows = b"".join(
            b"\x00" + bytes(self.pixels[y * self.width * 3 : (y + 1) * self.width * 3]) for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        path.write_bytes(
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
        )


SERIES_COLORS: Sequence[Color] = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189))


def plot(
    path: Path,
    title: str,
    x_label: str,
    y_label: str,
    series: dict[str, list[tuple[float, float, float, float]]],  # name -> [(x, median, low, high)]
) -> None:
    """Medians joined by lines, each with a whisker from its lowest to its highest run."""
    width, height, left, right, top, bottom = 720, 440, 70, 20, 50, 60
    canvas = Canvas(width, height)
    xs = [p[0] for points in series.values() for p in points] or [0.0, 1.0]
    ys = [p[3] for points in series.values() for p in points] or [1.0]
    x_min, x_max = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_max = max(ys) * 1.1 or 1.0

    def px(x: float) -> int:
        return round(left + (x - x_min) / (x_max - x_min) * (width - left - right))

    def py(y: float) -> int:
        return round(height - bottom - y / y_max * (height - top - bottom))

    canvas.line(left, top, left, height - bottom, (0, 0, 0))
    canvas.line(left, height - bottom, width - right, height - bottom, (0, 0, 0))
    for i in range(6):
        value = y_max * i / 5
        canvas.line(left - 4, py(value), left, py(value), (0, 0, 0))
        canvas.text(4, py(value) - 5, f"{value:.0f}")
    for x in sorted(set(xs)):
        canvas.line(px(x), height - bottom, px(x), height - bottom + 4, (0, 0, 0))
        canvas.text(px(x) - 6, height - bottom + 10, f"{x:g}")
    canvas.text(left, 12, title, scale=3)
    canvas.text(width // 2 - 40, height - 22, x_label)
    canvas.text(4, top - 18, y_label)
    for index, (name, points) in enumerate(series.items()):
        color = SERIES_COLORS[index % len(SERIES_COLORS)]
        ordered = sorted(points)
        for (x0, m0, _, _), (x1, m1, _, _) in itertools.pairwise(ordered):
            canvas.line(px(x0), py(m0), px(x1), py(m1), color, 2)
        for x, median, low, high in ordered:
            canvas.line(px(x), py(low), px(x), py(high), color)
            canvas.rect(px(x) - 3, py(median) - 3, px(x) + 3, py(median) + 3, color)
        canvas.rect(width - 200, top + 14 * index, width - 190, top + 14 * index + 8, color)
        canvas.text(width - 184, top + 14 * index - 1, name)
    canvas.save(path)
