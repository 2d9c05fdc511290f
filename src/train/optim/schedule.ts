/**
 * Learning rate: linear warmup from 0 to maxLr over `warmup` steps, then cosine decay to minLr at
 * `total` steps (and minLr after). Step numbers are 0-based.
 */
export interface LrSchedule {
  maxLr: number;
  minLr: number;
  warmup: number;
  total: number;
}

export function lrAt(step: number, s: LrSchedule): number {
  if (step < s.warmup) return (s.maxLr * (step + 1)) / s.warmup;
  if (step >= s.total) return s.minLr;
  const p = (step - s.warmup) / Math.max(1, s.total - s.warmup);
  return s.minLr + 0.5 * (s.maxLr - s.minLr) * (1 + Math.cos(Math.PI * p));
}
