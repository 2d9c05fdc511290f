/**
 * Headless Chromium for the browser tests: the system browser (Debian's `chromium`, or
 * $CHROMIUM_PATH) driven by playwright-core. Missing browser: the tests skip with a message on a
 * developer machine and fail in CI ($CI set), where .ci/run installs it.
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

export const CHROMIUM =
  process.env.CHROMIUM_PATH ??
  ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) => existsSync(p));

/** The reason to skip, or undefined when the tests can run (always undefined in CI). */
export function skipReason(): string | undefined {
  if (CHROMIUM && existsSync(CHROMIUM)) return undefined;
  if (process.env.CI)
    throw new Error(
      "browser tests need Chromium in CI: install it (apt-get install -y chromium) or set CHROMIUM_PATH",
    );
  return "Chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH): browser tests skipped";
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
