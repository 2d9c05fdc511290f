/**
 * The README's first-screen library example runs as written: extracted from README.md, written
 * next to the compiled package (so `import "edgellm"` resolves by the package's self-reference),
 * run in a child Node, and its streamed answer checked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

test("README library example streams the embedded model's answer", async () => {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const at = readme.indexOf("As a library");
  assert.ok(at >= 0, "README has no 'As a library' paragraph");
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, "no js block after 'As a library'");
  const file = `${ROOT}dist/readme-example.mjs`;
  writeFileSync(file, m[1]!);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 120_000 });
    assert.match(stdout, /The answer is 5198\./);
  } finally {
    rmSync(file, { force: true });
  }
});
