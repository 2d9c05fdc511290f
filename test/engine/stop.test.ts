import { test } from "node:test";
import assert from "node:assert/strict";
import { StopMatcher } from "../../src/engine/stop.js";

test("stop strings: text is held only while it may begin a stop string, then cut at the match", () => {
  const s = new StopMatcher(["END", "\n\n"]);
  assert.deepEqual(s.push("hello E"), { text: "hello ", stopped: false });
  assert.deepEqual(s.push("N"), { text: "", stopped: false });
  assert.deepEqual(s.push("X more"), { text: "ENX more", stopped: false });
  assert.deepEqual(s.push(" a\n"), { text: " a", stopped: false });
  assert.deepEqual(s.push("\nrest"), { text: "", stopped: true });
});

test("stop strings: match spanning pieces, earliest stop wins, flush releases the tail", () => {
  const s = new StopMatcher(["abc", "bc"]);
  assert.deepEqual(s.push("xa"), { text: "x", stopped: false });
  assert.deepEqual(s.push("bcz"), { text: "", stopped: true });
  const t = new StopMatcher(["STOP"]);
  assert.deepEqual(t.push("go ST"), { text: "go ", stopped: false });
  assert.equal(t.flush(), "ST");
  assert.deepEqual(new StopMatcher([]).push("abc"), { text: "abc", stopped: false });
});
