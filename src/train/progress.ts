/** Terminal progress bar for training: step, loss, tokens/s, ETA (cli-progress, on stderr). */
import cliProgress from "cli-progress";

export interface StepReport {
  step: number;
  total: number;
  loss: number;
  tokensPerSec: number;
}

export class TrainProgress {
  private bar: cliProgress.SingleBar;

  constructor(total: number, start: number) {
    this.bar = new cliProgress.SingleBar(
      {
        format: "step {value}/{total} |{bar}| loss {loss} | {tps} tok/s | ETA {eta_formatted}",
        stream: process.stderr,
        etaBuffer: 20,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, start, { loss: "-", tps: "-" });
  }

  update(r: StepReport): void {
    this.bar.update(r.step, { loss: r.loss.toFixed(4), tps: Math.round(r.tokensPerSec) });
  }

  stop(): void {
    this.bar.stop();
  }
}
