# Format study proxy (not part of the product; needs PyTorch): trains the default preset shape on
# build/proxy/<fmt> for a wall-time budget, then greedy-evaluates the held-out prompts.
# usage: python3 scripts/proxy/train.py build/proxy/v0 <minutes> <threads> [dim,layers,heads,ffn]
import json, math, os, sys, time, re
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
P = sys.argv[1]; MIN = float(sys.argv[2]); torch.set_num_threads(int(sys.argv[3]))
DIM, LAYERS, HEADS, FFN = [int(x) for x in (sys.argv[4] if len(sys.argv) > 4 else "128,4,4,384").split(",")]
LR = float(os.environ.get("LR", "3e-3")); B = int(os.environ.get("B", "8")); T = 256; CTX = 320
HD = DIM // HEADS
torch.manual_seed(0)
ids = torch.from_numpy(np.fromfile(f"{P}/ids.u16", dtype=np.uint16).astype(np.int64))
mask = torch.from_numpy(np.fromfile(f"{P}/mask.u8", dtype=np.uint8).astype(np.bool_))
starts = torch.from_numpy(np.fromfile(f"{P}/starts.i32", dtype=np.int32).astype(np.int64))
ev = json.load(open(f"{P}/eval.json")); V, EOS = ev["vocab"], ev["eos"]; N = ids.numel()
inv = 10000.0 ** (-torch.arange(0, HD, 2).float() / HD); ang = torch.arange(CTX).float()[:, None] * inv[None]
COS, SIN = ang.cos(), ang.sin()
def rope(x, p0):
    t = x.shape[2]; c, s = COS[p0:p0+t], SIN[p0:p0+t]; a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a*c - b*s, a*s + b*c), -1).flatten(-2)
class RMS(nn.Module):
    def __init__(s): super().__init__(); s.w = nn.Parameter(torch.ones(DIM))
    def forward(s, x): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * s.w
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.n1, s.n2 = RMS(), RMS()
        s.q, s.k, s.v, s.o = (nn.Linear(DIM, DIM, bias=False) for _ in range(4))
        s.g, s.u, s.d = nn.Linear(DIM, FFN, bias=False), nn.Linear(DIM, FFN, bias=False), nn.Linear(FFN, DIM, bias=False)
    def forward(s, x, cache=None, p0=0):
        Bn, Tn, _ = x.shape; h = s.n1(x)
        q, k, v = (l(h).view(Bn, Tn, HEADS, HD).transpose(1, 2) for l in (s.q, s.k, s.v))
        q, k = rope(q, p0), rope(k, p0)
        if cache is not None:
            if "k" in cache: k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        a = F.scaled_dot_product_attention(q, k, v, is_causal=(p0 == 0))
        x = x + s.o(a.transpose(1, 2).reshape(Bn, Tn, DIM)); h = s.n2(x)
        return x + s.d(F.silu(s.g(h)) * s.u(h))
class LM(nn.Module):
    def __init__(s):
        super().__init__(); s.emb = nn.Embedding(V, DIM); s.blocks = nn.ModuleList(Block() for _ in range(LAYERS)); s.norm = RMS()
        for n, p in s.named_parameters():
            if p.dim() > 1: nn.init.normal_(p, std=0.02)
    def forward(s, x, caches=None, p0=0):
        h = s.emb(x)
        for i, b in enumerate(s.blocks): h = b(h, None if caches is None else caches[i], p0)
        return s.norm(h) @ s.emb.weight.T
m = LM(); print("params", sum(p.numel() for p in m.parameters()), flush=True)
opt = torch.optim.AdamW(m.parameters(), lr=LR, betas=(0.9, 0.95), weight_decay=0.0)
ar = torch.arange(T + 1); t0 = time.time(); step = 0; budget = MIN * 60; toks = 0
while True:
    el = time.time() - t0
    if el > budget: break
    frac = el / budget
    lr = LR * min(1, (step + 1) / 60) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
    for g in opt.param_groups: g["lr"] = lr
    s = starts[torch.randint(0, starts.numel(), (B,))]; idx = (s[:, None] + ar[None]).clamp(max=N - 1)
    row, mrow = ids[idx], mask[idx]
    logits = m(row[:, :-1])
    la = F.cross_entropy(logits.reshape(-1, V), row[:, 1:].reshape(-1), reduction="none")
    mk = mrow[:, 1:].reshape(-1).float(); loss = (la * mk).sum() / mk.sum()
    opt.zero_grad(set_to_none=True); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
    step += 1; toks += B * T
    if step % 100 == 0: print(f"step {step} loss {loss.item():.4f} tok {toks} {time.time()-t0:.0f}s {toks/(time.time()-t0):.0f} tok/s", flush=True)
m.eval(); tok = ev["tokens"]
def decode(ts): return "".join(tok[t] for t in ts).replace("Ġ", " ").replace("Ċ", "\n")
res = {}; correct = 0; outs = []
with torch.no_grad():
    by = {}
    for i, p in enumerate(ev["prompts"]): by.setdefault(len(p), []).append(i)
    for L, ix in by.items():
        caches = [dict() for _ in range(LAYERS)]
        x = torch.tensor([ev["prompts"][i] for i in ix]); lg = m(x, caches, 0)[:, -1]; pos = L
        gen = [[] for _ in ix]; done = [False] * len(ix)
        while pos < CTX - 1 and not all(done):
            nx = lg.argmax(-1)
            for j, t in enumerate(nx.tolist()):
                if not done[j]: gen[j].append(t); done[j] = t == EOS
            lg = m(nx[:, None], caches, pos)[:, -1]; pos += 1
        for j, i in enumerate(ix):
            txt = decode(gen[j]); it = ev["items"][i]; nums = re.findall(r"-?\d+", txt.split("</think>")[-1])
            ok = bool(nums) and nums[-1] == it["ans"]; correct += ok
            d = max(len(str(it["a"])), len(str(it["b"]))); k = f'{it["op"]}{d}'
            r = res.setdefault(k, [0, 0]); r[0] += ok; r[1] += 1
            if not ok and len(outs) < 6: outs.append((it, txt))
print("RESULT", P, f"steps {step} tokens {toks} loss {loss.item():.4f} acc {correct}/{len(ev['items'])} = {correct/len(ev['items']):.3f}", json.dumps(dict(sorted(res.items()))), flush=True)
for it, txt in outs[:3]: print(it, txt[:600])
