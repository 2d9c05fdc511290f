"""Glyph atlases from TrueType fonts, rasterized here (no font library): the digits and the
operators of the rendered arithmetic problems, each at several pixel sizes, as alpha bitmaps
with their advance and offsets. Reads the 'cmap' (format 4), 'loca', 'glyf', 'hmtx' tables;
quadratic contours are flattened and filled by the nonzero winding rule with 4x4 supersampling.

    python3 scripts/vision/glyphs.py /usr/share/fonts/truetype build/vision/atlas

writes ATLAS.json (fonts, characters, and per glyph: font, size, char, advance, left, top, ascent,
height, width, offset) and ATLAS.bin (the alpha bitmaps, uint8, row-major, one after another), what
src/train/vision/render.ts reads.
"""
import json
import os
import struct
import sys

import numpy as np

CHARS = "0123456789+-="
SIZES = (10, 12, 14, 16, 18)  # pixel heights of the em


class Font:
    def __init__(self, path):
        self.b = open(path, "rb").read()
        n = struct.unpack(">H", self.b[4:6])[0]
        self.t = {}
        for i in range(n):
            tag, _, off, ln = struct.unpack(">4sIII", self.b[12 + 16 * i : 28 + 16 * i])
            self.t[tag.decode("latin1")] = (off, ln)
        h = self.t["head"][0]
        self.upem = struct.unpack(">H", self.b[h + 18 : h + 20])[0]
        self.loc_long = struct.unpack(">h", self.b[h + 50 : h + 52])[0] == 1
        hh = self.t["hhea"][0]
        self.ascent, self.descent = struct.unpack(">hh", self.b[hh + 4 : hh + 8])
        self.n_hm = struct.unpack(">H", self.b[hh + 34 : hh + 36])[0]
        self.cmap = self._cmap()

    def u16(self, o):
        return struct.unpack(">H", self.b[o : o + 2])[0]

    def _cmap(self):
        c = self.t["cmap"][0]
        n = self.u16(c + 2)
        for i in range(n):
            pid, eid, off = struct.unpack(">HHI", self.b[c + 4 + 8 * i : c + 12 + 8 * i])
            s = c + off
            if self.u16(s) == 4 and pid in (0, 3):
                seg = self.u16(s + 6) // 2
                ends = [self.u16(s + 14 + 2 * k) for k in range(seg)]
                st = s + 16 + 2 * seg
                starts = [self.u16(st + 2 * k) for k in range(seg)]
                deltas = [struct.unpack(">h", self.b[st + 2 * seg + 2 * k : st + 2 * seg + 2 * k + 2])[0] for k in range(seg)]
                ro = st + 4 * seg
                offs = [self.u16(ro + 2 * k) for k in range(seg)]
                m = {}
                for ch in CHARS:
                    code = ord(ch)
                    for k in range(seg):
                        if starts[k] <= code <= ends[k]:
                            if offs[k] == 0:
                                m[ch] = (code + deltas[k]) & 0xFFFF
                            else:
                                g = self.u16(ro + 2 * k + offs[k] + 2 * (code - starts[k]))
                                m[ch] = (g + deltas[k]) & 0xFFFF if g else 0
                            break
                return m
        raise ValueError("no format-4 cmap")

    def advance(self, g):
        h = self.t["hmtx"][0]
        return self.u16(h + 4 * min(g, self.n_hm - 1))

    def glyph_range(self, g):
        l = self.t["loca"][0]
        if self.loc_long:
            a, b = struct.unpack(">II", self.b[l + 4 * g : l + 4 * g + 8])
        else:
            a, b = (2 * self.u16(l + 2 * g), 2 * self.u16(l + 2 * g + 2))
        return self.t["glyf"][0] + a, b - a

    def contours(self, g, dx=0.0, dy=0.0):
        """Closed polylines (lists of (x, y) in font units) of glyph g."""
        o, ln = self.glyph_range(g)
        if ln == 0:
            return []
        nc = struct.unpack(">h", self.b[o : o + 2])[0]
        if nc < 0:  # composite: components with x/y offsets
            out = []
            p = o + 10
            while True:
                flags, gi = struct.unpack(">HH", self.b[p : p + 4])
                p += 4
                if flags & 1:
                    a1, a2 = struct.unpack(">hh", self.b[p : p + 4])
                    p += 4
                else:
                    a1, a2 = struct.unpack(">bb", self.b[p : p + 2])
                    p += 2
                if flags & 8:
                    p += 2
                elif flags & 0x40:
                    p += 4
                elif flags & 0x80:
                    p += 8
                out += self.contours(gi, dx + a1, dy + a2)
                if not flags & 0x20:
                    return out
        p = o + 10
        ends = [self.u16(p + 2 * i) for i in range(nc)]
        p += 2 * nc
        p += 2 + self.u16(p)
        npt = ends[-1] + 1
        fl = []
        while len(fl) < npt:
            f = self.b[p]
            p += 1
            fl.append(f)
            if f & 8:
                r = self.b[p]
                p += 1
                fl += [f] * r
        def coords(short_bit, same_bit):
            nonlocal p
            v, out = 0, []
            for f in fl:
                if f & short_bit:
                    d = self.b[p]
                    p += 1
                    v += d if f & same_bit else -d
                elif not f & same_bit:
                    v += struct.unpack(">h", self.b[p : p + 2])[0]
                    p += 2
                out.append(v)
            return out
        xs = coords(2, 16)
        ys = coords(4, 32)
        res, s = [], 0
        for e in ends:
            pts = [(xs[i] + dx, ys[i] + dy, fl[i] & 1) for i in range(s, e + 1)]
            s = e + 1
            res.append(flatten(pts))
        return res


def flatten(pts):
    """On/off-curve points of one contour -> a closed polyline (quadratics in 4 steps)."""
    n = len(pts)
    if not any(p[2] for p in pts):  # all off-curve: start at an implied midpoint
        a, b = pts[0], pts[1]
        pts = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, 1)] + pts
        n += 1
    k = next(i for i, p in enumerate(pts) if p[2])
    pts = pts[k:] + pts[:k] + [pts[k]]
    out = [pts[0][:2]]
    i = 1
    cur = pts[0][:2]
    while i < len(pts):
        p = pts[i]
        if p[2]:
            out.append(p[:2])
            cur = p[:2]
            i += 1
            continue
        nx = pts[i + 1] if i + 1 < len(pts) else pts[0]
        end = nx[:2] if nx[2] else ((p[0] + nx[0]) / 2, (p[1] + nx[1]) / 2)
        for t in (0.25, 0.5, 0.75, 1.0):
            u = 1 - t
            out.append((u * u * cur[0] + 2 * u * t * p[0] + t * t * end[0], u * u * cur[1] + 2 * u * t * p[1] + t * t * end[1]))
        cur = end
        i += 1 if not nx[2] else 2
    return out


def raster(polys, scale, ss=4):
    """Polylines (font units, y up) -> (alpha [h, w] float32, left, top) at `scale` px per unit."""
    allp = np.array([q for poly in polys for q in poly], dtype=np.float64) * scale
    x0, y0 = np.floor(allp.min(0)) - 1
    x1, y1 = np.ceil(allp.max(0)) + 1
    w, h = int(x1 - x0), int(y1 - y0)
    edges = []
    for poly in polys:
        a = np.array(poly, dtype=np.float64) * scale
        b = np.roll(a, -1, axis=0)
        edges.append(np.concatenate([a, b], 1))
    e = np.concatenate(edges)
    e = e[e[:, 1] != e[:, 3]]
    img = np.zeros((h * ss, w * ss), np.float32)
    xs = x0 + (np.arange(w * ss) + 0.5) / ss
    for r in range(h * ss):
        y = y1 - (r + 0.5) / ss  # row 0 at the top
        lo = np.minimum(e[:, 1], e[:, 3])
        hi = np.maximum(e[:, 1], e[:, 3])
        sel = (y >= lo) & (y < hi)
        if not sel.any():
            continue
        s = e[sel]
        t = (y - s[:, 1]) / (s[:, 3] - s[:, 1])
        xi = s[:, 0] + t * (s[:, 2] - s[:, 0])
        d = np.where(s[:, 3] > s[:, 1], 1, -1)
        wind = ((xs[:, None] > xi[None, :]) * d[None, :]).sum(1)
        img[r] = wind != 0
    a = img.reshape(h, ss, w, ss).mean((1, 3))
    return a, int(x0), int(y1)


def main():
    root, out = sys.argv[1], sys.argv[2]
    paths = sorted(
        os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".ttf") and "Math" not in f
    )
    names, glyphs, meta = [], [], []
    for path in paths:
        f = Font(path)
        name = os.path.basename(path)[:-4]
        names.append(name)
        for size in SIZES:
            sc = size / f.upem
            for ch in CHARS:
                g = f.cmap[ch]
                a, left, top = raster(f.contours(g), sc)
                glyphs.append(a)
                meta.append((len(names) - 1, size, CHARS.index(ch), f.advance(g) * sc, left, top, f.ascent * sc))
        print(name, flush=True)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    entries, off = [], 0
    with open(out + ".bin", "wb") as fb:
        for g, m in zip(glyphs, meta):
            a = np.round(g * 255).astype(np.uint8)
            fb.write(a.tobytes())
            entries.append({"font": m[0], "size": m[1], "char": CHARS[m[2]], "advance": float(m[3]), "left": int(m[4]),
                            "top": int(m[5]), "ascent": float(m[6]), "h": int(a.shape[0]), "w": int(a.shape[1]), "offset": off})
            off += a.size
    with open(out + ".json", "w") as fj:
        json.dump({"fonts": names, "chars": CHARS, "glyphs": entries}, fj)

if __name__ == "__main__":
    main()
