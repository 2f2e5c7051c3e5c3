// Builds the web UI into the folder bastion-api serves (default ../Public): content-hashed assets/*.js|css and an
// index.html that names them. Uses Debian's esbuild binary; React comes from /usr/share/nodejs (NODE_PATH).
// Usage: node web/build.mjs [--out DIR] [--dev]
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const out = resolve(args.includes("--out") ? args[args.indexOf("--out") + 1] : join(here, "..", "Public"));
const dev = args.includes("--dev");
const version = (() => {
  try {
    return execFileSync("git", ["-C", here, "describe", "--always", "--dirty"], { encoding: "utf8" }).trim();
  } catch {
    return "dev";
  }
})();

rmSync(join(out, "assets"), { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const metafile = join(out, "assets", ".meta.json");
execFileSync(
  "esbuild",
  [
    join(here, "src", "main.tsx"),
    "--bundle",
    "--format=esm",
    "--splitting",
    "--target=es2020",
    "--jsx=automatic",
    "--loader:.svg=text",
    `--define:process.env.NODE_ENV="${dev ? "development" : "production"}"`,
    `--define:__BASTION_UI_VERSION__="${version}"`,
    "--entry-names=[name]-[hash]",
    "--chunk-names=[name]-[hash]",
    `--outdir=${join(out, "assets")}`,
    `--metafile=${metafile}`,
    ...(dev ? ["--sourcemap"] : ["--minify", "--legal-comments=none"]),
    "--log-level=warning",
  ],
  { stdio: "inherit", env: { ...process.env, NODE_PATH: "/usr/share/nodejs" } },
);
const meta = JSON.parse(readFileSync(metafile, "utf8"));
rmSync(metafile);
const outputs = Object.keys(meta.outputs).map((path) => relative(out, resolve(path)));
// With --splitting, the entry is the output whose entryPoint is main.tsx; the others are chunks it imports on demand
// (the second language's catalogue).
const entry = Object.entries(meta.outputs).find(([, output]) => output.entryPoint?.endsWith("main.tsx"));
const script = entry ? relative(out, resolve(entry[0])) : undefined;
const style = entry?.[1].cssBundle ? relative(out, resolve(entry[1].cssBundle)) : outputs.find((path) => path.endsWith(".css"));
if (!script) throw new Error("esbuild produced no script");
// The theme is applied before the first paint (no flash of the wrong theme).
const themeBoot =
  "var t;try{t=localStorage.getItem('bastion.theme')}catch(e){}" +
  "if(t!=='dark'&&t!=='light')t=matchMedia('(prefers-color-scheme: dark)').matches?'dark':'light';" +
  "document.documentElement.dataset.theme=t";
writeFileSync(
  join(out, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bastion</title>
<script>${themeBoot}</script>
${style ? `<link rel="stylesheet" href="/${style}">` : ""}
<script type="module" src="/${script}"></script>
</head>
<body>
<div id="root"></div>
<noscript>Bastion's web UI needs JavaScript.</noscript>
</body>
</html>
`,
);
// The first load (docs/ui.md, "Size"): the entry and the chunks it imports statically, gzipped, within 120 KB.
const firstLoad = new Set();
const visit = (path) => {
  if (firstLoad.has(path)) return;
  firstLoad.add(path);
  for (const imported of meta.outputs[path]?.imports ?? []) if (imported.kind === "import-statement") visit(imported.path);
};
if (entry) visit(entry[0]);
const firstLoadGzip = [...firstLoad].reduce((sum, path) => sum + gzipSync(readFileSync(path), { level: 9 }).length, 0);
console.log(`web: ${outputs.join(", ")} → ${out}; first-load JS ${(firstLoadGzip / 1024).toFixed(1)} KiB gzipped (budget 120)`);
if (firstLoadGzip > 120 * 1024) {
  console.error("web: the first-load JS is over its 120 KiB gzipped budget (docs/ui.md, \"Size\")");
  process.exit(1);
}
