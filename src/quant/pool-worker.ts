/** Worker side of QuantizePool: quantize one row range with the reference code. */
import { parentPort } from "node:worker_threads";
import { quantizeRows } from "./index.js";
import type { GGMLType } from "../gguf/types.js";

parentPort!.on("message", (m: { id: number; type: GGMLType; src: Float32Array; nPerRow: number }) => {
  try {
    const bytes = quantizeRows(m.type, m.src, m.nPerRow);
    parentPort!.postMessage({ id: m.id, bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
