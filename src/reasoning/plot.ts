/**
 * Accuracy-versus-compute chart as a standalone SVG (no dependency): x = tokens per question
 * (log scale when the range spans more than 8x), y = accuracy 0..100%. Points of one series
 * (e.g. "self-consistency", "thinking budget") are joined by a line; each point is labelled.
 */
export interface PlotPoint {
  x: number;
  y: number;
  label: string;
}
export interface PlotSeries {
  name: string;
  points: PlotPoint[];
  /** Join points in the given order (e.g. by budget) instead of by x. */
  keepOrder?: boolean;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function niceTicks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
      for (const m of [1, 2, 5]) out.push(m * 10 ** e);
    return out.filter((v) => v >= lo / 1.0001 && v <= hi * 1.0001);
  }
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 4 || 1));
  const s = [1, 2, 5, 10].map((m) => m * step).find((v) => (hi - lo) / v <= 6) ?? step * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-9; v += s) out.push(v);
  return out;
}

export function accuracySVG(
  series: PlotSeries[],
  title = "Accuracy vs test-time compute",
  xLabel = "completion tokens per question",
  /** linear: a linear x axis from 0 that keeps x = 0 (e.g. training steps, step 0 = the start) */
  axis: { linear?: boolean } = {},
): string {
  const keep = (p: PlotPoint) => Number.isFinite(p.x) && (axis.linear ? p.x >= 0 : p.x > 0);
  const W = 720;
  const H = 440;
  const m = { l: 64, r: 180, t: 40, b: 56 };
  const pts = series.flatMap((s) => s.points).filter(keep);
  const xs = pts.map((p) => p.x);
  let lo = xs.length ? Math.min(...xs) : 1;
  let hi = xs.length ? Math.max(...xs) : 10;
  const log = !axis.linear && hi / lo > 8;
  if (log) {
    lo /= 1.3;
    hi *= 1.3;
  } else {
    const pad = (hi - lo) * 0.08 || lo * 0.1 || 1;
    lo = axis.linear ? 0 : Math.max(0, lo - pad);
    hi += pad;
  }
  const X = (x: number) =>
    m.l +
    ((log ? Math.log(x) - Math.log(lo) : x - lo) / (log ? Math.log(hi) - Math.log(lo) : hi - lo)) *
      (W - m.l - m.r);
  const Y = (y: number) => H - m.b - y * (H - m.t - m.b);
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(`<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (let a = 0; a <= 1.0001; a += 0.2) {
    o.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(a)}" y2="${Y(a)}" stroke="#ddd"/>`);
    o.push(`<text x="${m.l - 8}" y="${Y(a) + 4}" text-anchor="end">${Math.round(a * 100)}%</text>`);
  }
  for (const t of niceTicks(lo, hi, log)) {
    o.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`);
    o.push(
      `<text x="${X(t)}" y="${H - m.b + 16}" text-anchor="middle">${t >= 1000 ? `${t / 1000}k` : t}</text>`,
    );
  }
  o.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`,
  );
  o.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 14}" text-anchor="middle">${esc(xLabel)}${log ? " (log scale)" : ""}</text>`,
  );
  o.push(
    `<text transform="translate(18 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">accuracy</text>`,
  );
  series.forEach((s, si) => {
    const c = COLORS[si % COLORS.length];
    const ps = s.points.filter(keep).sort((a, b) => (s.keepOrder ? 0 : a.x - b.x));
    if (ps.length > 1)
      o.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2" points="${ps.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(" ")}"/>`,
      );
    for (const p of ps) {
      o.push(
        `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="4" fill="${c}"><title>${esc(`${p.label}: ${(p.y * 100).toFixed(1)}% at ${p.x.toFixed(0)}${axis.linear ? "" : " tokens"}`)}</title></circle>`,
      );
      o.push(
        `<text x="${(X(p.x) + 6).toFixed(1)}" y="${(Y(p.y) - 6).toFixed(1)}" font-size="10" fill="${c}">${esc(p.label)}</text>`,
      );
    }
    o.push(`<rect x="${W - m.r + 14}" y="${m.t + si * 20}" width="12" height="12" fill="${c}"/>`);
    o.push(`<text x="${W - m.r + 32}" y="${m.t + si * 20 + 10}">${esc(s.name)}</text>`);
  });
  o.push("</svg>");
  return o.join("\n") + "\n";
}
