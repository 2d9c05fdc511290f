#!/usr/bin/env python3
"""Golden outputs of llama.cpp's samplers (the prebuilt libllama that node-llama-cpp ships),
called through ctypes on seeded random logits: which candidates survive each processor and with
what logits. Run from the repo root: python3 test/sampling/gen-golden.py > test/sampling/golden.json
"""
import ctypes, json, random, glob

lib = ctypes.CDLL(glob.glob("node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v*.so")[0])

class TokenData(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int32), ("logit", ctypes.c_float), ("p", ctypes.c_float)]

class TokenDataArray(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(TokenData)), ("size", ctypes.c_size_t), ("selected", ctypes.c_int64), ("sorted", ctypes.c_bool)]

class LogitBias(ctypes.Structure):
    _fields_ = [("token", ctypes.c_int32), ("bias", ctypes.c_float)]

P = ctypes.c_void_p
lib.llama_sampler_init_top_k.restype = P; lib.llama_sampler_init_top_k.argtypes = [ctypes.c_int32]
lib.llama_sampler_init_top_p.restype = P; lib.llama_sampler_init_top_p.argtypes = [ctypes.c_float, ctypes.c_size_t]
lib.llama_sampler_init_min_p.restype = P; lib.llama_sampler_init_min_p.argtypes = [ctypes.c_float, ctypes.c_size_t]
lib.llama_sampler_init_temp.restype = P; lib.llama_sampler_init_temp.argtypes = [ctypes.c_float]
lib.llama_sampler_init_logit_bias.restype = P
lib.llama_sampler_init_logit_bias.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(LogitBias)]
lib.llama_sampler_apply.argtypes = [P, ctypes.POINTER(TokenDataArray)]
lib.llama_sampler_free.argtypes = [P]

def make(kind, arg, n):
    if kind == "top_k": return lib.llama_sampler_init_top_k(arg)
    if kind == "top_p": return lib.llama_sampler_init_top_p(arg, 1)
    if kind == "min_p": return lib.llama_sampler_init_min_p(arg, 1)
    if kind == "temp": return lib.llama_sampler_init_temp(arg)
    if kind == "logit_bias":
        arr = (LogitBias * len(arg))(*[LogitBias(int(t), float(b)) for t, b in arg])
        return lib.llama_sampler_init_logit_bias(n, len(arg), arr)
    raise ValueError(kind)

def run(logits, chain):
    n = len(logits)
    data = (TokenData * n)(*[TokenData(i, l, 0.0) for i, l in enumerate(logits)])
    arr = TokenDataArray(ctypes.cast(data, ctypes.POINTER(TokenData)), n, -1, False)
    for kind, arg in chain:
        s = make(kind, arg, n)
        lib.llama_sampler_apply(s, ctypes.byref(arr))
        lib.llama_sampler_free(s)
    return [[arr.data[i].id, arr.data[i].logit] for i in range(arr.size)]

rng = random.Random(7)
groups = []
for n, scale in [(40, 2.0), (300, 4.0), (1500, 3.0)]:
    logits = [ctypes.c_float(rng.gauss(0, scale)).value for _ in range(n)]
    bias = [[3, 5.0], [n - 1, -100.0], [n // 2, 2.5]]
    chains = [
        [["top_k", 5]], [["top_k", 0]], [["top_k", n + 10]],
        [["top_p", 0.5]], [["top_p", 0.9]], [["top_p", 1.0]],
        [["min_p", 0.05]], [["min_p", 0.3]],
        [["temp", 0.7]], [["temp", 0.0]],
        [["logit_bias", bias]],
        [["logit_bias", bias], ["top_k", 40], ["top_p", 0.95], ["min_p", 0.05], ["temp", 0.8]],
    ]
    # Survivors only: ids with a finite logit (llama.cpp's greedy temperature sets the rest to -inf).
    cases = [{"chain": c, "out": [[i, round(l, 7)] for i, l in run(logits, c) if l != float("-inf")]} for c in chains]
    groups.append({"logits": [round(l, 9) for l in logits], "cases": cases})
print(json.dumps(groups))
