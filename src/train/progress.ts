/** Terminal progress bar for training: step, loss, tokens/s, ETA (cli-progress, on stderr). */
import cliProgress from "cli-progress";

const LINE_MS = 30_000;

export interface StepReport {
  step: number;
  total: number;
  loss: number;
  tokensPerSec: number;
}

export class TrainProgress {
  private bar: cliProgress.SingleBar;
  /** stderr is not a terminal (nohup, CI): a plain line every LINE_MS instead of the bar */
  private readonly plain = !process.stderr.isTTY;
  private lastLine = 0;
  private readonly t0 = performance.now();

  constructor(
    private readonly total: number,
    private readonly start: number,
    /** what tokensPerSec counts: "tok" (language models), "img" (the vision encoder) */
    private readonly unit = "tok",
  ) {
    this.bar = new cliProgress.SingleBar(
      {
        format: `step {value}/{total} |{bar}| loss {loss} | {tps} ${unit}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        etaBuffer: 20,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    if (!this.plain) this.bar.start(total, start, { loss: "-", tps: "-" });
  }

  update(r: StepReport): void {
    if (this.plain) {
      const now = performance.now();
      if (now - this.lastLine < LINE_MS && r.step !== this.total) return;
      this.lastLine = now;
      const rate = (r.step - this.start) / ((now - this.t0) / 1000);
      const eta = rate > 0 ? Math.round((this.total - r.step) / rate) : 0;
      process.stderr.write(
        `step ${r.step}/${this.total} loss ${r.loss.toFixed(4)} ${r.tokensPerSec < 100 ? r.tokensPerSec.toFixed(1) : Math.round(r.tokensPerSec)} ${this.unit}/s ETA ${eta} s\n`,
      );
      return;
    }
    this.bar.update(r.step, {
      loss: r.loss.toFixed(4),
      tps: r.tokensPerSec < 100 ? r.tokensPerSec.toFixed(1) : Math.round(r.tokensPerSec),
    });
  }

  stop(): void {
    if (!this.plain) this.bar.stop();
  }
}
