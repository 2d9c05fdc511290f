"""Rendered arithmetic problems for the tiny vision model: a column sum written on a 64 x 64
image (first operand on one line, operator and second operand right-aligned under it), glyphs
from the atlas of glyphs.py, random font, size, position, colours and noise.

The image is read as an 8 x 8 grid of 8-pixel cells (the encoder's patches); each glyph belongs
to the cell holding its centre (its advance box's middle, the line's middle height). The label of
an image is the 64-cell sequence in reading order: the glyph's character, or a blank. Layouts
where two glyphs share a cell, or a glyph centre lies within MARGIN px of a cell edge, are drawn
again, so the cell of every glyph is well defined.

Held out (never in training): the fonts in HELD_OUT_FONTS, and positions whose block origin
(x0 + y0) % 3 == 0.

    python3 scripts/vision/render.py layouts N SEED > layouts.jsonl   (cells only, for the LM)
    python3 scripts/vision/render.py png OUT_DIR N SEED               (held-out PNGs + labels)
"""
import json
import os
import struct
import sys
import zlib

import numpy as np

S = 64
CELL = 8
GRID = S // CELL
MARGIN = 1.0
HELD_OUT_FONTS = (
    "DejaVuSansCondensed-Bold",
    "DejaVuSerif-Italic",
    "DejaVuSansMono-Oblique",
    "LiberationSans-BoldItalic",
    "LiberationSerif-Regular",
    "LiberationMono-Bold",
)
ATLAS = os.environ.get("ATLAS", "build/vision/atlas.npz")


class Atlas:
    def __init__(self, path=ATLAS):
        z = np.load(path)
        self.atlas = z["atlas"].astype(np.float32) / 255
        self.shapes = z["shapes"]
        self.meta = z["meta"]
        self.names = [str(n) for n in z["names"]]
        self.chars = str(z["chars"])
        self.index = {}
        for i, m in enumerate(self.meta):
            self.index[(int(m[0]), int(m[1]), self.chars[int(m[2])])] = i
        self.sizes = sorted({int(m[1]) for m in self.meta})

    def fonts(self, split):
        held = [i for i, n in enumerate(self.names) if n in HELD_OUT_FONTS]
        assert len(held) == len(HELD_OUT_FONTS), "held-out font missing from the atlas"
        return held if split == "test" else [i for i in range(len(self.names)) if i not in held]

    def glyph(self, font, size, ch):
        i = self.index[(font, size, ch)]
        m = self.meta[i]
        h, w = self.shapes[i]
        return self.atlas[i, :h, :w], float(m[3]), int(m[4]), int(m[5])


def operands(rng):
    op = "+" if rng.random() < 0.5 else "-"
    da, db = rng.integers(1, 5), rng.integers(1, 5)
    a = int(rng.integers(10 ** (da - 1) if da > 1 else 0, 10**da))
    b = int(rng.integers(10 ** (db - 1) if db > 1 else 0, 10**db))
    return a, op, b


def layout(at, rng, a, op, b, split, tries=400):
    """Glyph placements [(ch, pen_x, baseline, font, size)] and the 64 cell labels."""
    fonts = at.fonts(split)
    A, B = str(a), str(b)
    for _ in range(tries):
        font = int(rng.choice(fonts))
        size = int(rng.choice(at.sizes))
        adv = at.glyph(font, size, "0")[1]
        if adv < CELL + 0.5:
            continue
        opadv = at.glyph(font, size, op)[1]
        width = max(len(A), len(B)) * adv
        gap = size * rng.uniform(0.25, 0.6)
        block_w = width + gap + opadv
        lh = size * rng.uniform(1.15, 1.5)
        block_h = lh + size
        if block_w > S - 2 or block_h > S - 2:
            continue
        x0 = int(rng.integers(1, int(S - 1 - block_w) + 1))
        y0 = int(rng.integers(1, int(S - 1 - block_h) + 1))
        if ((x0 + y0) % 3 == 0) != (split == "test"):
            continue
        xr = x0 + block_w  # right edge of the digits
        base1 = y0 + size * 0.85
        base2 = base1 + lh
        glyphs = []
        for i, ch in enumerate(A):
            glyphs.append((ch, round(xr - (len(A) - i) * adv), base1))
        glyphs.append((op, x0, base2))
        for i, ch in enumerate(B):
            glyphs.append((ch, round(xr - (len(B) - i) * adv), base2))
        cells = [" "] * (GRID * GRID)
        ok = True
        for ch, px, base in glyphs:
            g, gadv, left, top = at.glyph(font, size, ch)
            cx = px + gadv / 2
            cy = round(base) - size * 0.36
            if min(cx % CELL, CELL - cx % CELL) < MARGIN or min(cy % CELL, CELL - cy % CELL) < MARGIN:
                ok = False
                break
            c = int(cy // CELL) * GRID + int(cx // CELL)
            if cells[c] != " " or px + left < 0 or px + left + g.shape[1] > S or round(base) - top < 0 or round(base) - top + g.shape[0] > S:
                ok = False
                break
            cells[c] = ch
        if ok and "".join(cells).replace(" ", "") == A + op + B:
            return [(ch, px, round(base), font, size) for ch, px, base in glyphs], "".join(cells)
    return None, None


def draw(at, rng, placed, noise=True):
    """RGB uint8 [S, S, 3]: background and ink colours with enough contrast, glyphs, noise."""
    while True:
        bg = rng.uniform(0, 255, 3)
        fg = rng.uniform(0, 255, 3)
        if abs(bg.mean() - fg.mean()) > 90:
            break
    alpha = np.zeros((S, S), np.float32)
    for ch, px, base, font, size in placed:
        g, _, left, top = at.glyph(font, size, ch)
        y, x = base - top, px + left
        alpha[y : y + g.shape[0], x : x + g.shape[1]] = np.maximum(alpha[y : y + g.shape[0], x : x + g.shape[1]], g)
    img = bg[None, None, :] * (1 - alpha[..., None]) + fg[None, None, :] * alpha[..., None]
    if noise:
        img += rng.normal(0, rng.uniform(0, 10), img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def sample(at, rng, split):
    while True:
        a, op, b = operands(rng)
        placed, cells = layout(at, rng, a, op, b, split)
        if placed:
            return a, op, b, placed, cells


def write_png(path, img):
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    at = Atlas()
    cmd = sys.argv[1]
    if cmd == "layouts":
        n, seed = int(sys.argv[2]), int(sys.argv[3])
        rng = np.random.default_rng(seed)
        for _ in range(n):
            a, op, b, _, cells = sample(at, rng, "train")
            print(json.dumps({"a": a, "op": op, "b": b, "cells": cells}))
    elif cmd == "png":
        out, n, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        split = sys.argv[5] if len(sys.argv) > 5 else "test"
        os.makedirs(out, exist_ok=True)
        rng = np.random.default_rng(seed)
        items = []
        for i in range(n):
            a, op, b, placed, cells = sample(at, rng, split)
            name = f"{i:04d}.png"
            write_png(os.path.join(out, name), draw(at, rng, placed))
            items.append({"file": name, "a": a, "op": op, "b": b, "cells": cells, "font": at.names[placed[0][3]], "size": placed[0][4]})
        with open(os.path.join(out, "labels.json"), "w") as f:
            json.dump(items, f, indent=0)


if __name__ == "__main__":
    main()
