/**
 * Rotary position embedding with NORMAL (adjacent pairs) or NEOX (half-split pairs) ordering, and
 * linear / YaRN / Llama-3 (per-pair frequency divisors) scaling. Angles follow ggml's rope cache:
 * theta_i = pos * base^(-2i/dim) / factor_i, computed in float32 by repeated multiplication.
 */
import type { RopeConfig } from "../arch/config.js";

const f = Math.fround;

/** Precomputed cos/sin for one position: [dim/2] each. */
export interface RopeAngles {
  cos: Float32Array;
  sin: Float32Array;
}

function corrDim(nDims: number, origCtx: number, nRot: number, base: number): number {
  return f(f(nDims * f(Math.log(f(origCtx / f(nRot * 2 * f(Math.PI)))))) / f(2 * f(Math.log(base))));
}

export class Rope {
  private readonly thetaScale: number;
  private readonly corr: [number, number];

  /** `freqFactors` (rope_freqs.weight, [dim/2]) divide the base frequencies (Llama-3 scaling). */
  constructor(
    readonly cfg: RopeConfig,
    private readonly freqFactors?: Float32Array,
  ) {
    this.thetaScale = f(Math.pow(cfg.base, -2 / cfg.dim));
    const lo = Math.floor(corrDim(cfg.dim, cfg.origCtx, cfg.betaFast, cfg.base));
    const hi = Math.ceil(corrDim(cfg.dim, cfg.origCtx, cfg.betaSlow, cfg.base));
    this.corr = [Math.max(0, lo), Math.min(cfg.dim - 1, hi)];
  }

  angles(pos: number): RopeAngles {
    const { dim, freqScale, extFactor } = this.cfg;
    const half = dim / 2;
    const cos = new Float32Array(half);
    const sin = new Float32Array(half);
    let theta = f(pos);
    for (let i = 0; i < half; i++) {
      const ff = this.freqFactors ? this.freqFactors[i] : 1;
      const extrap = f(theta / ff);
      let t = f(freqScale * extrap);
      let mscale = this.cfg.attnFactor;
      if (extFactor !== 0) {
        const y = f(f(i - this.corr[0]) / Math.max(0.001, this.corr[1] - this.corr[0]));
        const ramp = f(f(1 - Math.min(1, Math.max(0, y))) * extFactor);
        t = f(f(t * f(1 - ramp)) + f(extrap * ramp));
        mscale = f(mscale * f(1 + f(0.1 * f(Math.log(f(1 / freqScale))))));
      }
      cos[i] = f(Math.cos(t)) * mscale;
      sin[i] = f(Math.sin(t)) * mscale;
      theta = f(theta * this.thetaScale);
    }
    return { cos, sin };
  }

  /** Rotate `nHeads` heads of size `headDim` in x (starting at xo), first `dim` dims of each head. */
  apply(x: Float32Array, xo: number, nHeads: number, headDim: number, a: RopeAngles): void {
    const half = this.cfg.dim / 2;
    const neox = this.cfg.order === "neox";
    for (let h = 0; h < nHeads; h++) {
      const base = xo + h * headDim;
      for (let i = 0; i < half; i++) {
        const i0 = neox ? base + i : base + 2 * i;
        const i1 = neox ? base + i + half : base + 2 * i + 1;
        const x0 = x[i0];
        const x1 = x[i1];
        // ggml's compiled loop fuses x0 * cos (and x0 * sin) into an FMA with the rounded other product.
        x[i0] = x0 * a.cos[i] - f(x1 * a.sin[i]);
        x[i1] = x0 * a.sin[i] + f(x1 * a.cos[i]);
      }
    }
  }
}
