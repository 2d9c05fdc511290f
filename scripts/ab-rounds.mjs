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
