/**
 * SwiGLU gate of the llama FFN: h = silu(g) * u, silu(g) = g * sigmoid(g). g, u, h: (N*F).
 */
import type { Buf } from "./buf.js";

export function swigluForward(h: Buf, g: Buf, u: Buf, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = g[i];
    h[i] = (x / (1 + Math.exp(-x))) * u[i];
  }
}

/** Accumulates into dg, du:  dg = dh * u * sig * (1 + g * (1 - sig)),  du = dh * silu(g). */
export function swigluBackward(dg: Buf, du: Buf, dh: Buf, g: Buf, u: Buf, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = g[i];
    const sig = 1 / (1 + Math.exp(-x));
    dg[i] += dh[i] * u[i] * sig * (1 + x * (1 - sig));
    du[i] += dh[i] * x * sig;
  }
}
