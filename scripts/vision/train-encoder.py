"""The encoder half of the tiny vision model: a LLaVA-style CLIP ViT (8 x 8 patches of a 64 x 64
image, class token, pre-LN, tanh GELU) and the mlp projector, trained here (numpy, hand-written
backward, AdamW) so that each patch's row is the language model's input embedding of the token
its cell stands for (render.py: a glyph's token, or " " for a blank cell). Loss: cross-entropy of
the rows against the 13 candidate embeddings (logits = row . E_c) + mean squared error to the
target embedding. Resumable: a checkpoint every 25 steps.

    python3 scripts/vision/train-encoder.py LM.gguf OUT_DIR STEPS [--resume]

OUT_DIR/encoder.npz holds the weights under their mmproj tensor names (scripts/vision/export.mjs
writes the GGUF).
"""
import os
import struct
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import render  # noqa: E402

D, HEADS, FF, LAYERS, HID = 64, 4, 256, 3, 128
S, P = render.S, render.CELL
NP = (S // P) ** 2
EPS = 1e-5
CELL_TEXT = {" ": " ", "+": " +", "-": " -", **{str(d): str(d) for d in range(10)}}
CANDS = list(CELL_TEXT)  # cell characters, candidate order


def gguf_token_embd(path):
    """token_embd.weight (F32) and the vocabulary of a GGUF (just enough of the format)."""
    b = open(path, "rb").read()
    p = 8
    nt, nkv = struct.unpack("<QQ", b[p : p + 16])
    p += 16
    tokens = None

    def rstr(p):
        n = struct.unpack("<Q", b[p : p + 8])[0]
        return b[p + 8 : p + 8 + n].decode("utf8", "replace"), p + 8 + n

    SZ = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def rval(t, p):
        if t == 8:
            return rstr(p)
        if t == 9:
            it, n = struct.unpack("<IQ", b[p : p + 12])
            p += 12
            vals = []
            for _ in range(n):
                v, p = rval(it, p)
                vals.append(v)
            return vals, p
        return None, p + SZ[t]

    for _ in range(nkv):
        k, p = rstr(p)
        t = struct.unpack("<I", b[p : p + 4])[0]
        v, p = rval(t, p + 4)
        if k == "tokenizer.ggml.tokens":
            tokens = v
    infos = []
    for _ in range(nt):
        name, p = rstr(p)
        nd = struct.unpack("<I", b[p : p + 4])[0]
        dims = struct.unpack(f"<{nd}Q", b[p + 4 : p + 4 + 8 * nd])
        typ, off = struct.unpack("<IQ", b[p + 4 + 8 * nd : p + 16 + 8 * nd])
        p += 16 + 8 * nd
        infos.append((name, dims, typ, off))
    base = (p + 31) // 32 * 32
    for name, dims, typ, off in infos:
        if name == "token_embd.weight":
            assert typ == 0, "needs an F32 language model"
            n = dims[0] * dims[1]
            E = np.frombuffer(b, np.float32, n, base + off).reshape(dims[1], dims[0])
            return E.copy(), tokens
    raise ValueError("no token_embd.weight")


def gelu(x):
    c = np.sqrt(2 / np.pi)
    t = np.tanh(c * (x + 0.044715 * x**3))
    return 0.5 * x * (1 + t), t


def gelu_back(x, t, g):
    c = np.sqrt(2 / np.pi)
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))


def ln(x, w, b):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdims=True)
    r = 1 / np.sqrt(var + EPS)
    xh = xc * r
    return xh * w + b, (xh, r)


def ln_back(cache, w, g):
    xh, r = cache
    gw = (g * xh).reshape(-1, xh.shape[-1]).sum(0)
    gb = g.reshape(-1, g.shape[-1]).sum(0)
    gx_h = g * w
    n = xh.shape[-1]
    gx = r * (gx_h - gx_h.mean(-1, keepdims=True) - xh * (gx_h * xh).mean(-1, keepdims=True))
    return gx, gw, gb


def init(rng, E_dim):
    p = {}
    def mat(name, o, i):
        p[name] = (rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
    def vec(name, n, v=0.0):
        p[name] = np.full(n, v, np.float32)
    p["v.patch_embd.weight"] = (rng.standard_normal((D, 3, P, P)) / np.sqrt(3 * P * P)).astype(np.float32)
    p["v.class_embd"] = (rng.standard_normal(D) * 0.02).astype(np.float32)
    p["v.position_embd.weight"] = (rng.standard_normal((NP + 1, D)) * 0.02).astype(np.float32)
    vec("v.pre_ln.weight", D, 1.0)
    vec("v.pre_ln.bias", D)
    for l in range(LAYERS):
        b = f"v.blk.{l}"
        for t in ("attn_q", "attn_k", "attn_v", "attn_out"):
            mat(f"{b}.{t}.weight", D, D)
            vec(f"{b}.{t}.bias", D)
        p[f"{b}.attn_out.weight"] *= 0.5
        vec(f"{b}.ln1.weight", D, 1.0)
        vec(f"{b}.ln1.bias", D)
        vec(f"{b}.ln2.weight", D, 1.0)
        vec(f"{b}.ln2.bias", D)
        mat(f"{b}.ffn_up.weight", FF, D)
        vec(f"{b}.ffn_up.bias", FF)
        mat(f"{b}.ffn_down.weight", D, FF)
        p[f"{b}.ffn_down.weight"] *= 0.5
        vec(f"{b}.ffn_down.bias", D)
    mat("mm.0.weight", HID, D)
    vec("mm.0.bias", HID)
    mat("mm.2.weight", E_dim, HID)
    vec("mm.2.bias", E_dim)
    return p


def forward(p, x_img):
    """x_img [B, S, S, 3] float (normalized) -> rows [B, NP, E], cache."""
    B = x_img.shape[0]
    g = S // P
    patches = x_img.reshape(B, g, P, g, P, 3).transpose(0, 1, 3, 5, 2, 4).reshape(B, NP, 3 * P * P)
    Wp = p["v.patch_embd.weight"].reshape(D, -1)
    h = patches @ Wp.T
    h = np.concatenate([np.broadcast_to(p["v.class_embd"], (B, 1, D)), h], 1) + p["v.position_embd.weight"]
    x, c_pre = ln(h, p["v.pre_ln.weight"], p["v.pre_ln.bias"])
    caches = []
    hd = D // HEADS
    T = NP + 1
    for l in range(LAYERS):
        b = f"v.blk.{l}"
        a_in, c1 = ln(x, p[f"{b}.ln1.weight"], p[f"{b}.ln1.bias"])
        q = a_in @ p[f"{b}.attn_q.weight"].T + p[f"{b}.attn_q.bias"]
        k = a_in @ p[f"{b}.attn_k.weight"].T + p[f"{b}.attn_k.bias"]
        v = a_in @ p[f"{b}.attn_v.weight"].T + p[f"{b}.attn_v.bias"]
        qh = q.reshape(B, T, HEADS, hd).transpose(0, 2, 1, 3)
        kh = k.reshape(B, T, HEADS, hd).transpose(0, 2, 1, 3)
        vh = v.reshape(B, T, HEADS, hd).transpose(0, 2, 1, 3)
        s = qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(hd)
        s -= s.max(-1, keepdims=True)
        pr = np.exp(s)
        pr /= pr.sum(-1, keepdims=True)
        o = (pr @ vh).transpose(0, 2, 1, 3).reshape(B, T, D)
        x2 = x + o @ p[f"{b}.attn_out.weight"].T + p[f"{b}.attn_out.bias"]
        f_in, c2 = ln(x2, p[f"{b}.ln2.weight"], p[f"{b}.ln2.bias"])
        u = f_in @ p[f"{b}.ffn_up.weight"].T + p[f"{b}.ffn_up.bias"]
        gu, tu = gelu(u)
        x3 = x2 + gu @ p[f"{b}.ffn_down.weight"].T + p[f"{b}.ffn_down.bias"]
        caches.append((x, a_in, c1, qh, kh, vh, pr, o, x2, f_in, c2, u, gu, tu))
        x = x3
    # All rows, the class token's too: llama.cpp's LLaVA graph puts the class token after the
    # patches and keeps rows 1..n, so the language model reads patches 1..63 and then the class
    # row, which is trained to be a blank cell.
    feat = x
    m0 = feat @ p["mm.0.weight"].T + p["mm.0.bias"]
    gm, tm = gelu(m0)
    out = gm @ p["mm.2.weight"].T + p["mm.2.bias"]
    return out, (patches, c_pre, caches, feat, m0, gm, tm)


def backward(p, cache, gout):
    patches, c_pre, caches, feat, m0, gm, tm = cache
    B = patches.shape[0]
    hd = D // HEADS
    T = NP + 1
    gr = {}
    def acc(name, val):
        gr[name] = gr.get(name, 0) + val
    acc("mm.2.weight", gout.reshape(-1, gout.shape[-1]).T @ gm.reshape(-1, HID))
    acc("mm.2.bias", gout.reshape(-1, gout.shape[-1]).sum(0))
    ggm = gout @ p["mm.2.weight"]
    gm0 = gelu_back(m0, tm, ggm)
    acc("mm.0.weight", gm0.reshape(-1, HID).T @ feat.reshape(-1, D))
    acc("mm.0.bias", gm0.reshape(-1, HID).sum(0))
    gx = gm0 @ p["mm.0.weight"]
    for l in reversed(range(LAYERS)):
        b = f"v.blk.{l}"
        x, a_in, c1, qh, kh, vh, pr, o, x2, f_in, c2, u, gu, tu = caches[l]
        # ffn
        g3 = gx
        acc(f"{b}.ffn_down.weight", g3.reshape(-1, D).T @ gu.reshape(-1, FF))
        acc(f"{b}.ffn_down.bias", g3.reshape(-1, D).sum(0))
        ggu = g3 @ p[f"{b}.ffn_down.weight"]
        gu_in = gelu_back(u, tu, ggu)
        acc(f"{b}.ffn_up.weight", gu_in.reshape(-1, FF).T @ f_in.reshape(-1, D))
        acc(f"{b}.ffn_up.bias", gu_in.reshape(-1, FF).sum(0))
        gf = gu_in @ p[f"{b}.ffn_up.weight"]
        gf, gw, gbb = ln_back(c2, p[f"{b}.ln2.weight"], gf)
        acc(f"{b}.ln2.weight", gw)
        acc(f"{b}.ln2.bias", gbb)
        g2 = g3 + gf
        # attention
        acc(f"{b}.attn_out.weight", g2.reshape(-1, D).T @ o.reshape(-1, D))
        acc(f"{b}.attn_out.bias", g2.reshape(-1, D).sum(0))
        go = (g2 @ p[f"{b}.attn_out.weight"]).reshape(B, T, HEADS, hd).transpose(0, 2, 1, 3)
        gpr = go @ vh.transpose(0, 1, 3, 2)
        gvh = pr.transpose(0, 1, 3, 2) @ go
        gs = pr * (gpr - (gpr * pr).sum(-1, keepdims=True)) / np.sqrt(hd)
        gqh = gs @ kh
        gkh = gs.transpose(0, 1, 3, 2) @ qh
        ga = np.zeros_like(a_in)
        for name, gh in (("attn_q", gqh), ("attn_k", gkh), ("attn_v", gvh)):
            g_ = gh.transpose(0, 2, 1, 3).reshape(B, T, D)
            acc(f"{b}.{name}.weight", g_.reshape(-1, D).T @ a_in.reshape(-1, D))
            acc(f"{b}.{name}.bias", g_.reshape(-1, D).sum(0))
            ga += g_ @ p[f"{b}.{name}.weight"]
        ga, gw, gbb = ln_back(c1, p[f"{b}.ln1.weight"], ga)
        acc(f"{b}.ln1.weight", gw)
        acc(f"{b}.ln1.bias", gbb)
        gx = g2 + ga
    gh, gw, gbb = ln_back(c_pre, p["v.pre_ln.weight"], gx)
    acc("v.pre_ln.weight", gw)
    acc("v.pre_ln.bias", gbb)
    acc("v.position_embd.weight", gh.sum(0))
    acc("v.class_embd", gh[:, 0].sum(0))
    gp = gh[:, 1:].reshape(-1, D).T @ patches.reshape(B * NP, -1)
    acc("v.patch_embd.weight", gp.reshape(D, 3, P, P))
    return gr


MEAN, STD = 0.5, 0.5


def batch(at, rng, n, split="train"):
    xs, ys, meta = [], [], []
    for _ in range(n):
        a, op, b, placed, cells = render.sample(at, rng, split)
        xs.append(render.draw(at, rng, placed))
        ys.append([CANDS.index(c) for c in cells])
        meta.append((a, op, b, cells))
    x = (np.stack(xs).astype(np.float32) / 255 - MEAN) / STD
    return x, np.array(ys), meta


def loss_fn(out, y, Ec, lam=4.0, glyph_w=8.0):
    """CE over candidates + lam * MSE to the target row, glyph cells weighted glyph_w (blanks 1):
    returns loss, grad, cell acc, exact."""
    logits = out @ Ec.T
    logits -= logits.max(-1, keepdims=True)
    lse = np.log(np.exp(logits).sum(-1, keepdims=True))
    pr = np.exp(logits - lse)
    w = np.where(y == CANDS.index(" "), 1.0, glyph_w).astype(np.float32)[..., None]
    wsum = float(w.sum())
    ce = -(w * (np.take_along_axis(logits, y[..., None], -1) - lse)).sum() / wsum
    diff = out - Ec[y]
    mse = (w * diff * diff).sum() / (wsum * out.shape[-1])
    g_logits = pr.copy()
    np.put_along_axis(g_logits, y[..., None], np.take_along_axis(pr, y[..., None], -1) - 1, -1)
    g = w * (g_logits @ Ec) / wsum + lam * 2 * w * diff / (wsum * out.shape[-1])
    pred = logits.argmax(-1)
    return ce + lam * mse, g.astype(np.float32), (pred == y).mean(), (pred == y).all(-1).mean(), ce, mse


def dump(src, prefix):
    """Weights of a checkpoint (ckpt.npz) or encoder.npz -> PREFIX.json (name -> offset, shape) +
    PREFIX.bin (float32, row-major), what scripts/vision/export.mjs reads."""
    import json
    z = np.load(src)
    names = [k for k in z.files if k.startswith("p:")] or [k for k in z.files if k != "step"]
    index, off = {}, 0
    with open(prefix + ".bin", "wb") as f:
        for k in names:
            a = np.ascontiguousarray(z[k], np.float32)
            if k.endswith("v.position_embd.weight"):
                # llama.cpp's CLIP puts the class token after the patches: its position row last.
                a = np.ascontiguousarray(np.concatenate([a[1:], a[:1]]))
            f.write(a.tobytes())
            index[k[2:] if k.startswith("p:") else k] = {"offset": off, "shape": list(a.shape)}
            off += a.size
    meta = {"tensors": index, "step": int(z["step"]) if "step" in z.files else None,
            "config": {"imageSize": S, "patchSize": P, "nEmbd": D, "nHead": HEADS, "nFf": FF, "nLayer": LAYERS, "mmHidden": HID,
                       "mean": MEAN, "std": STD, "eps": EPS}}
    with open(prefix + ".json", "w") as f:
        json.dump(meta, f)


def main():
    if sys.argv[1] == "--dump":
        return dump(sys.argv[2], sys.argv[3])
    lm, outdir, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    resume = "--resume" in sys.argv
    bs = int(os.environ.get("BATCH", 32))
    lr_max = float(os.environ.get("LR", 2e-3))
    os.makedirs(outdir, exist_ok=True)
    E, tokens = gguf_token_embd(lm)
    ids = [tokens.index(CELL_TEXT[c].replace(" ", "\u0120")) for c in CANDS]
    Ec = E[ids].astype(np.float32)
    at = render.Atlas()
    ck = os.path.join(outdir, "ckpt.npz")
    if resume and os.path.exists(ck):
        z = np.load(ck)
        p = {k[2:]: z[k] for k in z.files if k.startswith("p:")}
        m = {k[2:]: z[k] for k in z.files if k.startswith("m:")}
        v = {k[2:]: z[k] for k in z.files if k.startswith("v:")}
        step = int(z["step"])
        print(f"resumed at step {step}", flush=True)
    else:
        p = init(np.random.default_rng(1), E.shape[1])
        m = {k: np.zeros_like(x) for k, x in p.items()}
        v = {k: np.zeros_like(x) for k, x in p.items()}
        step = 0
    t0 = time.time()
    s0 = step
    hist = []
    while step < steps:
        rng = np.random.default_rng(1_000_003 * 7 + step)
        x, y, _ = batch(at, rng, bs)
        y = np.concatenate([np.full((bs, 1), CANDS.index(" ")), y], 1)
        out, cache = forward(p, x)
        L, g, acc, exact, ce, mse = loss_fn(out, y, Ec)
        gr = backward(p, cache, g)
        norm = np.sqrt(sum(float((gv * gv).sum()) for gv in gr.values()))
        sc = min(1.0, 1.0 / (norm + 1e-9))
        warm = 50
        lr = lr_max * min(1, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(1, step / steps))))
        step += 1
        for k in p:
            gk = gr[k] * sc
            m[k] = 0.9 * m[k] + 0.1 * gk
            v[k] = 0.999 * v[k] + 0.001 * gk * gk
            mh = m[k] / (1 - 0.9**step)
            vh = v[k] / (1 - 0.999**step)
            wd = 0.01 if p[k].ndim >= 2 else 0.0
            p[k] = (p[k] - lr * (mh / (np.sqrt(vh) + 1e-8) + wd * p[k])).astype(np.float32)
        hist.append((L, acc, exact))
        if step % 10 == 0 or step == steps:
            h = np.array(hist[-10:])
            el = time.time() - t0
            rate = (step - s0) / max(el, 1e-9)
            print(
                f"step {step}/{steps} loss {h[:,0].mean():.4f} cell-acc {h[:,1].mean():.5f} exact {h[:,2].mean():.3f} "
                f"lr {lr:.2e} {rate * bs:.1f} img/s ETA {(steps - step) / max(rate, 1e-9):.0f} s",
                flush=True,
            )
        if step % 25 == 0 or step == steps:
            tmp = ck + ".tmp.npz"
            np.savez(tmp, step=step, **{f"p:{k}": x for k, x in p.items()}, **{f"m:{k}": x for k, x in m.items()}, **{f"v:{k}": x for k, x in v.items()})
            os.replace(tmp, ck)
    np.savez(os.path.join(outdir, "encoder.npz"), **p)
    print("done", flush=True)


if __name__ == "__main__":
    main()
