// Logic tests of the web UI: each test/*.test.ts bundled by esbuild for node, then run by node's test runner.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", ".build-web-test");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const tests = readdirSync(join(here, "test")).filter((name) => name.endsWith(".test.ts"));
execFileSync(
  "esbuild",
  [...tests.map((name) => join(here, "test", name)), "--bundle", "--platform=node", "--format=esm", `--outdir=${out}`, "--out-extension:.js=.mjs", "--log-level=warning"],
  { stdio: "inherit", env: { ...process.env, NODE_PATH: "/usr/share/nodejs" } },
);
execFileSync(process.execPath, ["--test", ...tests.map((name) => join(out, name.replace(/\.ts$/, ".mjs")))], { stdio: "inherit" });
