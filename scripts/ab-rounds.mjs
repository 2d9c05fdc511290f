// The A/B round loop of scripts/kernel-ab.mjs, decode-ab.mjs and tokenize-ab.mjs: `rounds`
// rounds of one measurement of A and one of B, in the order A B then B A, so that a drift of the
// machine's speed hits both alike. `a()` and `b()` return a cost (time); the result holds each
// side's costs and the per-round ratios b/a.
export function abRounds(rounds, a, b) {
  const ta = [];
  const tb = [];
  const ratio = [];
  for (let i = 0; i < rounds; i++) {
    let ca;
    let cb;
    if (i % 2 === 0) {
      ca = a();
      cb = b();
    } else {
      cb = b();
      ca = a();
    }
    ta.push(ca);
    tb.push(cb);
    ratio.push(cb / ca);
  }
  return { ta, tb, ratio };
}

export const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

// The same for n variants: round i measures them in the order rotated by i (0 1 2, 1 2 0, 2 0 1,
// ...), so each variant runs first, second, ... equally often. Returns per variant its costs, and
// per variant the per-round ratios cost / cost of variant 0.
export function rotRounds(rounds, fns) {
  const n = fns.length;
  const costs = fns.map(() => []);
  const ratio = fns.map(() => []);
  for (let i = 0; i < rounds; i++) {
    const c = new Array(n);
    for (let k = 0; k < n; k++) {
      const j = (i + k) % n;
      c[j] = fns[j]();
    }
    for (let j = 0; j < n; j++) {
      costs[j].push(c[j]);
      ratio[j].push(c[j] / c[0]);
    }
  }
  return { costs, ratio };
}
