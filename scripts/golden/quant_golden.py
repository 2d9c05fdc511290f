#!/usr/bin/env python3
"""Reference outputs for src/quant, computed by the real ggml (the prebuilt libraries that ship with
node-llama-cpp), called through ctypes. Standard library only (no numpy), so it runs wherever python3
and the ggml shared libraries exist.

Commands
  check                       exit 0 if ggml loads, else print why and exit 3
  run DIR TYPES NPERROW       read DIR/input.f32 (rows of NPERROW float32), and for each comma-separated
                              TYPE write DIR/TYPE.quant (ggml_quantize_chunk or the *_ref row quantizer),
                              DIR/TYPE.dequant (type_traits.to_float of those bytes) and, if
                              DIR/act.f32 exists, DIR/TYPE.dot (float32 per row: ggml-cpu vec_dot of row
                              r with act row r, the activation quantized by ggml-cpu's from_float)
  fp DIR                      read DIR/fp.u32 (float32 bit patterns) and write DIR/fp.f16
                              (ggml_fp32_to_fp16_row), DIR/fp.bf16 (ggml_fp32_to_bf16_row_ref) and
                              DIR/half.f32 (ggml_fp16_to_fp32_row of all 65536 halves)
  generate FILE               write the checked-in golden JSON (seeded inputs, see make_inputs)

The CPU library used for activations and dots is the portable x64 variant (no SIMD: the generic C
code paths); set GGML_CPU_VARIANT=haswell etc. to use another. EDGELLM_GGML_LIB_DIR overrides where
the libraries are looked up.
"""
import base64
import ctypes
import hashlib
import json
import math
import os
import random
import struct
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LIB_DIR = os.environ.get(
    "EDGELLM_GGML_LIB_DIR",
    os.path.join(ROOT, "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64"),
)
CPU_VARIANT = os.environ.get("GGML_CPU_VARIANT", "x64")

# enum ggml_type values (ggml.h)
TYPES = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q8_1": 9,
    "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "Q8_K": 15, "IQ4_NL": 20, "IQ4_XS": 23, "BF16": 30, "MXFP4": 39,
}


class TypeTraits(ctypes.Structure):
    # struct ggml_type_traits (ggml.h of the llama.cpp tag node-llama-cpp ships)
    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("blck_size", ctypes.c_int64),
        ("blck_size_interleave", ctypes.c_int64),
        ("type_size", ctypes.c_size_t),
        ("is_quantized", ctypes.c_bool),
        ("to_float", ctypes.c_void_p),
        ("from_float_ref", ctypes.c_void_p),
    ]


class TypeTraitsCpu(ctypes.Structure):
    # struct ggml_type_traits_cpu (ggml-cpu.h)
    _fields_ = [
        ("from_float", ctypes.c_void_p),
        ("vec_dot", ctypes.c_void_p),
        ("vec_dot_type", ctypes.c_int),
        ("nrows", ctypes.c_int64),
    ]


TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                           ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


class Ggml:
    def __init__(self):
        base_path = os.path.join(LIB_DIR, "libggml-base.so")
        cpu_path = os.path.join(LIB_DIR, "libggml-cpu-%s.so" % CPU_VARIANT)
        for p in (base_path, cpu_path):
            if not os.path.exists(p):
                raise OSError("ggml library not found: %s" % p)
        self.base = ctypes.CDLL(base_path, mode=ctypes.RTLD_GLOBAL)
        self.cpu = ctypes.CDLL(cpu_path)
        b = self.base
        b.ggml_quantize_chunk.restype = ctypes.c_size_t
        b.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                          ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
        b.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
        b.ggml_get_type_traits.argtypes = [ctypes.c_int]
        for name in ("ggml_fp32_to_fp16_row", "ggml_fp32_to_bf16_row_ref", "ggml_fp16_to_fp32_row"):
            getattr(b, name).restype = None
            getattr(b, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        for name in ("quantize_row_q8_1_ref", "quantize_row_q8_K_ref"):
            getattr(b, name).restype = None
            getattr(b, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        self.cpu.ggml_cpu_init.restype = None
        self.cpu.ggml_cpu_init()
        self.cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(TypeTraitsCpu)
        self.cpu.ggml_get_type_traits_cpu.argtypes = [ctypes.c_int]

    def traits(self, t):
        return self.base.ggml_get_type_traits(t).contents

    def row_bytes(self, t, n):
        tr = self.traits(t)
        return n // tr.blck_size * tr.type_size

    def quantize(self, t, src, nrows, nper):
        """src: bytes of float32. Q8_1/Q8_K are activation formats ggml_quantize_chunk rejects."""
        out = ctypes.create_string_buffer(self.row_bytes(t, nper) * nrows)
        s = ctypes.create_string_buffer(src, len(src))
        if t == TYPES["Q8_1"]:
            self.base.quantize_row_q8_1_ref(s, out, nrows * nper)
        elif t == TYPES["Q8_K"]:
            self.base.quantize_row_q8_K_ref(s, out, nrows * nper)
        else:
            self.base.ggml_quantize_chunk(t, s, out, 0, nrows, nper, None)
        return out.raw

    def dequantize(self, t, data, n):
        tr = self.traits(t)
        if t == TYPES["F32"]:
            return bytes(data[: 4 * n])
        if not tr.to_float:
            return None  # Q8_1: ggml has no dequantizer
        out = ctypes.create_string_buffer(4 * n)
        d = ctypes.create_string_buffer(bytes(data), len(data))
        TO_FLOAT(tr.to_float)(d, out, n)
        return out.raw

    def dots(self, t, qdata, act, nrows, nper):
        """float32 results of ggml-cpu vec_dot for row r of qdata with row r of act (float32 bytes)."""
        ct = self.cpu.ggml_get_type_traits_cpu(t).contents
        if not ct.vec_dot:
            return None
        yt = ct.vec_dot_type
        yct = self.cpu.ggml_get_type_traits_cpu(yt).contents
        xrb = self.row_bytes(t, nper)
        yrb = self.row_bytes(yt, nper)
        res = []
        s = ctypes.c_float()
        for r in range(nrows):
            x = ctypes.create_string_buffer(qdata[r * xrb:(r + 1) * xrb], xrb)
            a = ctypes.create_string_buffer(act[4 * r * nper:4 * (r + 1) * nper], 4 * nper)
            y = ctypes.create_string_buffer(yrb)
            if yt == TYPES["F32"]:
                ctypes.memmove(y, a, 4 * nper)
            else:
                FROM_FLOAT(yct.from_float)(a, y, nper)
            VEC_DOT(ct.vec_dot)(nper, ctypes.byref(s), 0, x, 0, y, 0, 1)
            res.append(struct.pack("<f", s.value))
        return b"".join(res)


# ---------------------------------------------------------------- seeded inputs for the golden file

def make_inputs(nper):
    """Named rows covering the paths each quantizer takes. Deterministic: Python's Mersenne Twister
    with a fixed seed, values rounded to float32."""
    rng = random.Random(20240611)
    g = lambda s=1.0, m=0.0: [m + s * rng.gauss(0, 1) for _ in range(nper)]
    rows = []
    rows.append(("normal", g()))
    out = g(0.02)
    for k in range(0, nper, 37):
        out[k] = rng.choice([-1, 1]) * rng.uniform(1, 3)  # outliers 50-150x the rest
    rows.append(("outliers", out))
    rows.append(("zeros", [0.0] * nper))
    rows.append(("tiny", g(1e-6)))  # fp16 scales land in the subnormal range or flush to 0
    rows.append(("large", [max(-6e4, min(6e4, v)) for v in g(1.5e4)]))  # fp16 scales near their max
    sub = g(1e-30)
    for k in range(0, nper, 5):
        sub[k] = rng.choice([-1, 1]) * 1e-40  # float32 subnormals
    rows.append(("subnormal", sub))
    rows.append(("positive", [rng.random() for _ in range(nper)]))  # min > 0 paths
    rows.append(("constant", [0.5] * nper))  # max == min paths
    mixed = g(3.0, 2.0)
    for k in range(nper // 4):
        mixed[k] = 0.0
    for k in range(nper // 4, nper // 2):
        mixed[k] = -abs(mixed[k])
    rows.append(("mixed", mixed))
    return rows


def f32bytes(vals):
    return struct.pack("<%df" % len(vals), *vals)


def fp_edge_bits(step=257):
    """float32 bit patterns at, one ulp either side of, and midway between sampled consecutive halves
    (every `step`-th half plus the subnormal/normal and overflow boundaries), both signs, plus NaNs,
    infinities and float32 subnormals."""
    bits = set()
    hs = set(range(0, 0x7C00, step)) | {1, 2, 3, 0x3FF, 0x400, 0x401, 0x7BFE, 0x7BFF}
    for h in sorted(hs):
        f = struct.unpack("<f", struct.pack("<I", half_to_f32_bits(h)))[0]
        nxt = struct.unpack("<f", struct.pack("<I", half_to_f32_bits(h + 1)))[0]
        mid = (f + nxt) / 2 if h < 0x7BFF else 65520.0
        for v in (f, mid):
            b = struct.unpack("<I", struct.pack("<f", v))[0]
            for d in (-1, 0, 1):
                for sign in (0, 0x80000000):
                    bits.add(((b + d) & 0x7FFFFFFF) | sign)
    for b in (0x7F800000, 0x7F800001, 0x7FC00000, 0x7FFFFFFF, 0x7FA00000, 0x00000001, 0x007FFFFF,
              0x00800000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000, 0x7F7FFFFF, 0x33000000,
              0x33000001, 0x32FFFFFF, 0x3F808000, 0x3F818000, 0x3F80FFFF, 0x7F7F8000):
        bits.add(b)
        bits.add(b | 0x80000000)
    return sorted(bits)


def half_to_f32_bits(h):
    s = (h & 0x8000) << 16
    e = (h >> 10) & 0x1F
    m = h & 0x3FF
    if e == 0x1F:
        return s | 0x7F800000 | (m << 13)
    if e:
        return s | ((e + 112) << 23) | (m << 13)
    if m == 0:
        return s
    return s | struct.unpack("<I", struct.pack("<f", m * 2.0 ** -24))[0]


def b64(b):
    return base64.b64encode(b).decode("ascii")


def generate(path):
    gg = Ggml()
    nper = 256
    rows = make_inputs(nper)
    inp = b"".join(f32bytes(v) for _, v in rows)
    nrows = len(rows)
    # Activations for dots: row r is dotted with input row (r+1) % nrows (not stored separately).
    act = inp[4 * nper:] + inp[:4 * nper]
    out = {
        "comment": "Generated by scripts/golden/quant_golden.py generate from ggml (node-llama-cpp prebuilt "
                   "libggml-base.so + libggml-cpu-%s.so). Do not edit." % CPU_VARIANT,
        "nPerRow": nper,
        "rowNames": [n for n, _ in rows],
        "input": b64(inp),
        "types": {},
    }
    for name in ("F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
                 "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"):
        t = TYPES[name]
        q = gg.quantize(t, inp, nrows, nper)
        dq = gg.dequantize(t, q, nrows * nper)
        entry = {"quant": b64(q) if name != "F32" else None}
        if dq is not None:
            entry["dequantSha256"] = hashlib.sha256(dq).hexdigest()
            entry["rmse"] = rmse(inp, dq)
        d = gg.dots(t, q, act, nrows, nper)
        if d is not None:
            entry["dots"] = b64(d)
        out["types"][name] = entry
    bits = fp_edge_bits()
    src = struct.pack("<%dI" % len(bits), *bits)
    f16 = ctypes.create_string_buffer(2 * len(bits))
    bf16 = ctypes.create_string_buffer(2 * len(bits))
    s = ctypes.create_string_buffer(src, len(src))
    gg.base.ggml_fp32_to_fp16_row(s, f16, len(bits))
    gg.base.ggml_fp32_to_bf16_row_ref(s, bf16, len(bits))
    halves = struct.pack("<65536H", *range(65536))
    h2f = ctypes.create_string_buffer(4 * 65536)
    gg.base.ggml_fp16_to_fp32_row(ctypes.create_string_buffer(halves, len(halves)), h2f, 65536)
    out["fp"] = {"inputBits": b64(src), "f16": b64(f16.raw), "bf16": b64(bf16.raw),
                 "halfToF32Sha256": hashlib.sha256(h2f.raw).hexdigest()}
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")


def rmse(a, b):
    n = len(a) // 4
    x = struct.unpack("<%df" % n, a)
    y = struct.unpack("<%df" % n, b)
    s = sum((p - q) ** 2 for p, q in zip(x, y) if math.isfinite(p - q))
    return math.sqrt(s / n)


def run(d, types, nper):
    gg = Ggml()
    with open(os.path.join(d, "input.f32"), "rb") as fh:
        inp = fh.read()
    n = len(inp) // 4
    if n % nper:
        raise SystemExit("input length %d is not a multiple of %d" % (n, nper))
    nrows = n // nper
    act_path = os.path.join(d, "act.f32")
    act = open(act_path, "rb").read() if os.path.exists(act_path) else None
    for name in types:
        t = TYPES[name]
        q = gg.quantize(t, inp, nrows, nper)
        open(os.path.join(d, name + ".quant"), "wb").write(q)
        dq = gg.dequantize(t, q, n)
        if dq is not None:
            open(os.path.join(d, name + ".dequant"), "wb").write(dq)
        if act is not None:
            dots = gg.dots(t, q, act, nrows, nper)
            if dots is not None:
                open(os.path.join(d, name + ".dot"), "wb").write(dots)


def fp(d):
    gg = Ggml()
    src = open(os.path.join(d, "fp.u32"), "rb").read()
    n = len(src) // 4
    s = ctypes.create_string_buffer(src, len(src))
    f16 = ctypes.create_string_buffer(2 * n)
    bf16 = ctypes.create_string_buffer(2 * n)
    gg.base.ggml_fp32_to_fp16_row(s, f16, n)
    gg.base.ggml_fp32_to_bf16_row_ref(s, bf16, n)
    open(os.path.join(d, "fp.f16"), "wb").write(f16.raw)
    open(os.path.join(d, "fp.bf16"), "wb").write(bf16.raw)
    halves = struct.pack("<65536H", *range(65536))
    h2f = ctypes.create_string_buffer(4 * 65536)
    gg.base.ggml_fp16_to_fp32_row(ctypes.create_string_buffer(halves, len(halves)), h2f, 65536)
    open(os.path.join(d, "half.f32"), "wb").write(h2f.raw)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd = argv[1]
    try:
        if cmd == "check":
            Ggml()
            print("ok", LIB_DIR, CPU_VARIANT)
        elif cmd == "run":
            run(argv[2], argv[3].split(","), int(argv[4]))
        elif cmd == "fp":
            fp(argv[2])
        elif cmd == "generate":
            generate(argv[2])
        else:
            print(__doc__)
            return 2
    except OSError as e:
        print("ggml unavailable: %s" % e, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
