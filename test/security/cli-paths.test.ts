// Issue 14 finding 8: `edgellm inspect <directory>` ended in exit 70 "internal error: EISDIR" with a
// stack trace, and `inspect` / `run` on a FIFO hung waiting for a writer. Now the model file is
// opened without blocking and checked to be a regular file on the open descriptor: a one-line
// typed error and exit 1, promptly. The real CLI in a child process.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../cli/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "cli-paths-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], timeoutMs = 20_000) {
  const r = await runCli(args, { timeoutMs });
  return { code: r.code, stderr: r.err, killed: r.killed };
}

test("finding 8: inspect/run on a directory is a one-line error, exit 1", async () => {
  const d = join(dir, "a-dir");
  mkdirSync(d);
  for (const args of [
    ["inspect", d],
    ["run", "-m", d, "-p", "hi", "-n", "1"],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /not a regular file \(a directory\)/);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  }
});

test(
  "finding 8: inspect/run on a FIFO fails fast instead of hanging",
  { skip: process.platform === "win32" },
  async () => {
    const f = join(dir, "a-fifo");
    execFileSync("mkfifo", [f]);
    for (const args of [
      ["inspect", f],
      ["run", "-m", f, "-p", "hi", "-n", "1"],
    ]) {
      const r = await cli(args, 15_000);
      assert.ok(!r.killed, `${args.join(" ")} hung`);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /not a regular file \(a FIFO\)/);
    }
  },
);
