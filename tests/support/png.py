"""A PNG reader just big enough for screenshots: 8-bit RGB or RGBA, not interlaced.

The browser test asks whether a screenshot shows anything; no image library is needed.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter

CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel (8-bit)


def pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of PNG ``data`` (``channels`` bytes a pixel)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks, header = 8, [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8, "an unsupported PNG: not 8 bits a channel"
    assert colour in CHANNELS, "an unsupported PNG: not RGB or RGBA"
    assert not interlace, "an unsupported PNG: interlaced"
    size = CHANNELS[colour]
    raw = zlib.decompress(b"".join(chunks))
    stride = width * size
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up = previous[x]
            corner = previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[x] = (line[x] + _paeth(left, up, corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(row) for row in rows]


def colour_counts(data: bytes, *, step: int = 4) -> Counter[bytes]:
    """How often each RGB colour occurs, sampling every ``step``-th pixel of every row."""
    width, _, rows = pixels(data)
    size = len(rows[0]) // width if rows else 3
    counts: Counter[bytes] = Counter()
    for row in rows:
        for x in range(0, width, step):
            counts[row[x * size : x * size + 3]] += 1
    return counts


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    near_left, near_up, near_corner = (abs(estimate - v) for v in (left, up, corner))
    if near_left <= near_up and near_left <= near_corner:
        return left
    return up if near_up <= near_corner else corner
