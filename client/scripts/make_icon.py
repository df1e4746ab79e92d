"""Draws images/icon.png: log lines under a magnifying lens.

Pure standard library (zlib + struct) so anyone can regenerate the icon:
``python3 scripts/make_icon.py``. Shapes are sampled on a finer grid and
averaged, which gives smooth edges without an imaging library.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

SIZE = 256
SUB = 4  # samples per pixel along each axis

Color = tuple[int, int, int]
BACKGROUND: Color = (28, 39, 56)
LINE: Color = (120, 140, 165)
LINE_HIT: Color = (235, 94, 85)
LENS_RING: Color = (245, 178, 60)
LENS_GLASS: Color = (48, 66, 92)

Shape = Callable[[float, float], bool]


def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return inside


def circle(cx: float, cy: float, r: float) -> Shape:
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def ring(cx: float, cy: float, r_out: float, r_in: float) -> Shape:
    return lambda x, y: r_in * r_in <= (x - cx) ** 2 + (y - cy) ** 2 <= r_out * r_out


def capsule(ax: float, ay: float, bx: float, by: float, r: float) -> Shape:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy

    def inside(x: float, y: float) -> bool:
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        px, py = ax + t * dx, ay + t * dy
        return (x - px) ** 2 + (y - py) ** 2 <= r * r

    return inside


def build_layers() -> list[tuple[Shape, Color, Shape | None]]:
    """Shapes painted in order; the optional third item clips a shape."""
    lens_c, lens_r = (150.0, 142.0), 62.0
    glass = circle(*lens_c, lens_r - 10)
    layers: list[tuple[Shape, Color, Shape | None]] = [
        (rounded_rect(8, 8, 248, 248, 44), BACKGROUND, None)
    ]
    widths = [150, 120, 170, 96, 140, 110]
    for i, w in enumerate(widths):
        y = 56 + i * 30
        layers.append((capsule(40, y, 40 + w, y, 7), LINE, None))
    layers.append((glass, LENS_GLASS, None))
    for i, w in enumerate(widths):
        y = 56 + i * 30
        color = LINE_HIT if i == 3 else (190, 205, 225)
        layers.append((capsule(40, y, 40 + w + 40, y, 9), color, glass))
    layers.append((ring(*lens_c, lens_r, lens_r - 12), LENS_RING, None))
    angle = math.radians(45)
    hx = lens_c[0] + math.cos(angle) * (lens_r - 2)
    hy = lens_c[1] + math.sin(angle) * (lens_r - 2)
    layers.append((capsule(hx, hy, hx + 46, hy + 46, 12), LENS_RING, None))
    return layers


def render() -> bytes:
    layers = build_layers()
    rows = bytearray()
    step = 1.0 / SUB
    for py in range(SIZE):
        rows.append(0)  # PNG filter type: none
        for px in range(SIZE):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(SUB):
                for sx in range(SUB):
                    x = px + (sx + 0.5) * step
                    y = py + (sy + 0.5) * step
                    col: Color | None = None
                    for shape, color, clip in layers:
                        if shape(x, y) and (clip is None or clip(x, y)):
                            col = color
                    if col is not None:
                        acc[0] += col[0]
                        acc[1] += col[1]
                        acc[2] += col[2]
                        acc[3] += 1
            n = acc[3]
            if n:
                rows.extend(round(c / n) for c in acc[:3])
                rows.append(round(255 * n / (SUB * SUB)))
            else:
                rows.extend((0, 0, 0, 0))
    return bytes(rows)


def png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "images" / "icon.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png(SIZE, SIZE, render()))
    print(f"wrote {out.name} ({SIZE}x{SIZE})")


if __name__ == "__main__":
    main()
