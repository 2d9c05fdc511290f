/**
 * Access to the checked-in ggml reference data (test/golden/quant/golden.json, written by
 * scripts/golden/quant_golden.py generate) and to the live ggml script when python3 and the ggml
 * libraries are present.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type GGMLType, ggmlTypeFromName } from "../../src/gguf/types.js";

/** Repository root: the nearest ancestor of this file holding package.json (works from .dist-*). */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, "package.json"))) {
    const up = dirname(d);
    if (up === d) throw new Error("package.json not found above " + fileURLToPath(import.meta.url));
    d = up;
  }
  return d;
}

export const GOLDEN_PATH = "test/golden/quant/golden.json";
export const SCRIPT_PATH = "scripts/golden/quant_golden.py";

export interface GoldenType {
  type: GGMLType;
  name: string;
  quant: Uint8Array | null;
  dequantSha256?: string;
  dots?: Float32Array;
  rmse?: number;
}

export interface Golden {
  nPerRow: number;
  rowNames: string[];
  input: Float32Array;
  types: GoldenType[];
  fp: { inputBits: Uint32Array; f16: Uint16Array; bf16: Uint16Array; halfToF32Sha256: string };
}

function b64(s: string): Uint8Array {
  const b = Buffer.from(s, "base64");
  // Copy into a fresh, aligned ArrayBuffer so typed views of any width work.
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

export function parseGolden(text: string): Golden {
  const j = JSON.parse(text);
  const types: GoldenType[] = [];
  for (const [name, e] of Object.entries<any>(j.types)) {
    const type = ggmlTypeFromName(name);
    if (type === undefined) throw new Error(`golden has unknown type ${name}`);
    types.push({
      type,
      name,
      quant: e.quant ? b64(e.quant) : null,
      dequantSha256: e.dequantSha256,
      dots: e.dots ? new Float32Array(b64(e.dots).buffer) : undefined,
      rmse: e.rmse,
    });
  }
  return {
    nPerRow: j.nPerRow,
    rowNames: j.rowNames,
    input: new Float32Array(b64(j.input).buffer),
    types,
    fp: {
      inputBits: new Uint32Array(b64(j.fp.inputBits).buffer),
      f16: new Uint16Array(b64(j.fp.f16).buffer),
      bf16: new Uint16Array(b64(j.fp.bf16).buffer),
      halfToF32Sha256: j.fp.halfToF32Sha256,
    },
  };
}

export function loadGolden(): Golden {
  return parseGolden(readFileSync(join(repoRoot(), GOLDEN_PATH), "utf8"));
}

/** Why the live ggml reference cannot run here, or null when it can. */
export function liveUnavailable(): string | null {
  const r = spawnSync("python3", [join(repoRoot(), SCRIPT_PATH), "check"], { encoding: "utf8" });
  if (r.error) return `python3 not runnable (${r.error.message})`;
  if (r.status !== 0) return `ggml reference unavailable: ${(r.stderr || r.stdout).trim()}`;
  return null;
}

/** Run the reference script; throws with its stderr on failure. */
export function runScript(args: string[]): void {
  const r = spawnSync("python3", [join(repoRoot(), SCRIPT_PATH), ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`quant_golden.py ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
}
