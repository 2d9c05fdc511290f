/**
 * A cli-progress bar on stderr for loadLLM's progress callback: percent of the load, MiB of tensor
 * data read, and the tensor just read. Drawn only when stderr is a terminal (cli-progress stays
 * silent on pipes, so scripted use gets clean output).
 */
import { SingleBar } from "cli-progress";
import type { LoadProgress } from "../engine/llm.js";

export interface LoadBar {
  onProgress: (p: LoadProgress) => void;
  /** Remove the bar (call on success and on failure). */
  stop: () => void;
}

const MiB = 1 << 20;

export function loadBar(stream: NodeJS.WriteStream = process.stderr): LoadBar {
  const bar = new SingleBar({
    format: "loading [{bar}] {percentage}% | {detail}",
    hideCursor: true,
    clearOnComplete: true,
    stream,
    barsize: 30,
  });
  bar.start(100, 0, { detail: "" });
  let stopped = false;
  return {
    onProgress(p) {
      const detail =
        p.phase === "weights" && p.totalBytes !== undefined
          ? `${((p.loadedBytes ?? 0) / MiB).toFixed(0)}/${(p.totalBytes / MiB).toFixed(0)} MiB ${p.tensor ?? ""}`
          : p.phase === "bind"
            ? "binding weights to the kernels"
            : p.phase;
      bar.update(Math.round(p.fraction * 100), { detail });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
