// Issue 14 finding 9: the files tool checked a path and then opened it, so a writer swapping a
// directory for a symlink in between made it read outside its root (16 of 3,000 attempts read
// /etc/passwd); and a file named `..foo` was refused as if it were `..`. Now the object is opened
// first and the check is made on the open descriptor. A racing child process swaps dir <-> symlink
// while 2,000 reads and listings run: none returns anything from outside the root.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../src/errors.js";
import { SandboxedDir } from "../../src/tools/builtin/files.js";

const base = mkdtempSync(join(tmpdir(), "files-race-"));
after(() => rmSync(base, { recursive: true, force: true }));

test("finding 9: names starting with '..' are inside the root; '..' itself is not", async () => {
  const root = join(base, "dots");
  mkdirSync(join(root, "..dir"), { recursive: true });
  writeFileSync(join(root, "..foo"), "dotdot-file");
  writeFileSync(join(root, "..dir", "x"), "x-in-dotdot-dir");
  const d = new SandboxedDir(root);
  assert.equal(await d.readFile("..foo"), "dotdot-file");
  assert.equal(await d.readFile("..dir/x"), "x-in-dotdot-dir");
  assert.deepEqual(await d.listDir("..dir"), ["x"]);
  for (const p of ["..", "../root/d/f", "..dir/../../x"]) await assert.rejects(d.readFile(p), InputError, p);
});

test(
  "finding 9: a racing dir <-> symlink swap never reads outside the root",
  { skip: process.platform === "win32" },
  async () => {
    const root = join(base, "root");
    const outside = join(base, "outside");
    mkdirSync(join(root, "d"), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, "d", "f"), "inside");
    writeFileSync(join(outside, "f"), "SECRET-OUTSIDE");
    writeFileSync(join(outside, "outside-only"), "");
    const racer = spawn(
      process.execPath,
      [
        "-e",
        `const fs = require("fs"); const [d, keep, out] = process.argv.slice(1);
       for (;;) { try { fs.renameSync(d, keep); fs.symlinkSync(out, d); fs.unlinkSync(d); fs.renameSync(keep, d); } catch {} }`,
        join(root, "d"),
        join(base, "d-kept"),
        outside,
      ],
      { stdio: "ignore" },
    );
    try {
      const dir = new SandboxedDir(root);
      let inside = 0;
      for (let i = 0; i < 2_000; i++) {
        const text = await dir
          .readFile("d/f")
          .catch((e: unknown) => (e instanceof InputError ? null : Promise.reject(e)));
        assert.notEqual(text, "SECRET-OUTSIDE", `attempt ${i} read outside the root`);
        if (text === "inside") inside++;
        const names = await dir
          .listDir("d")
          .catch((e: unknown) => (e instanceof InputError ? ([] as string[]) : Promise.reject(e)));
        assert.ok(!names.includes("outside-only"), `attempt ${i} listed outside the root`);
      }
      assert.ok(inside > 0, "the legitimate file was never read: the race test did not exercise the path");
    } finally {
      racer.kill("SIGKILL");
    }
  },
);
