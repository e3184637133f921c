"""A small PNG reader for screenshots (8-bit RGB or RGBA, not interlaced): zlib and struct for
the file, numpy for the pixels, so the browser test needs no imaging library.

PNG filters each row against its left, upper and upper-left neighbours. numpy undoes the
filters that vectorise (None, Sub, Up); Average and Paeth go byte by byte (a few seconds for a
1400 x 3000 screenshot).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel at bit depth 8


def read_png(path: Path) -> npt.NDArray[np.uint8]:
    """The image as an array of shape (height, width, channels)."""
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path}: not a PNG")
    position, compressed, header = len(SIGNATURE), [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length  # length, type, body, CRC
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed.append(body)
    if header is None:
        raise ValueError(f"{path}: no IHDR chunk")
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in CHANNELS or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA, not interlaced (got {header})")
    channels = CHANNELS[colour_type]
    rows = np.frombuffer(zlib.decompress(b"".join(compressed)), np.uint8)
    rows = rows.reshape(height, width * channels + 1)
    filters = rows[:, 0]
    filtered = rows[:, 1:].reshape(height, width, channels)
    return _unfilter(filters, filtered)


def _unfilter(
    filters: npt.NDArray[np.uint8], filtered: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    height, width, channels = filtered.shape
    image = np.zeros((height, width, channels), np.uint8)
    above = np.zeros((width, channels), np.uint8)
    for y in range(height):
        row, kind = filtered[y], int(filters[y])
        if kind == 0:
            image[y] = row
        elif kind == 1:  # Sub: a running sum along the row, per channel
            image[y] = np.cumsum(row, axis=0, dtype=np.int64) & 255
        elif kind == 2:  # Up
            image[y] = row + above
        else:  # Average, Paeth: each byte waits for its left neighbour
            image[y] = _sequential(kind, row.ravel().tolist(), above.ravel().tolist(), channels)
        above = image[y]
    return image


def _sequential(kind: int, row: list[int], above: list[int], step: int) -> npt.NDArray[np.uint8]:
    out = [0] * step + row  # `step` zeros: the left neighbours of the first pixel
    up = [0] * step + above
    if kind == 3:
        for i in range(step, len(out)):
            out[i] = (out[i] + ((out[i - step] + up[i]) >> 1)) & 255
    else:
        for i in range(step, len(out)):
            a, b, c = out[i - step], up[i], up[i - step]
            near_a = b - c if b > c else c - b
            near_b = a - c if a > c else c - a
            near_c = a + b - c - c
            near_c = near_c if near_c > 0 else -near_c
            guess = a if near_a <= near_b and near_a <= near_c else b if near_b <= near_c else c
            out[i] = (out[i] + guess) & 255
    return np.array(out[step:], np.uint8).reshape(-1, step)
