// The shape check of web/src (docs/ui.md, "The shape of web/"), run by web/test/pageRules.test.ts in `make ui-test`.
// With TypeScript's own parser over every .ts/.tsx in web/src, it fails on
//   - the browser's own dialogs: a call of window.confirm / alert / prompt (or of a bare confirm, alert, prompt the
//     file does not declare itself: `const [confirm, dialog] = useConfirm()` is the UI's own and passes). The UI asks
//     in its own dialog (web/src/dialogs.tsx): focus stays in it, Escape cancels, it speaks the page's language.
//   - a page importing another page. A page is a file under pages/. A top-level page (pages/JobPage.tsx) may import
//     the files of its own section directory (pages/job/: the name without "Page", lower-cased); a file in a section
//     directory may import the helpers beside it (a lower-case name: pages/settings/credentialForms.tsx) but no other
//     section (pages/settings/Keys.tsx) and nothing else under pages/. What two pages share goes to lib/ or
//     components.tsx, or to a helper of the section.
// It prints file:line: what, for each.
//
//   node web/page-rules.mjs              checks web/src
//   node web/page-rules.mjs --root DIR   checks DIR instead (the check's own test)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const ts = require("/usr/share/nodejs/typescript");

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const rootAt = args.indexOf("--root");
const root = resolve(rootAt >= 0 ? args[rootAt + 1] : join(here, "src"));
const pages = join(root, "pages");

// Imports between pages that another change will remove (empty since the job editor was split, #27 item 7). Keep it empty:
// an entry here is a page that still imports a page.
const pending = new Set([]);

const dialogs = new Set(["confirm", "alert", "prompt"]);
const globals = new Set(["window", "globalThis", "self"]);

function files(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(path));
    else if (/\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

/** Every name the file binds itself (variables, destructuring, parameters, functions, imports). */
function declaredNames(source) {
  const names = new Set();
  const bind = (name) => {
    if (!name) return;
    if (ts.isIdentifier(name)) names.add(name.text);
    else if (ts.isObjectBindingPattern(name) || ts.isArrayBindingPattern(name))
      for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  const visit = (node) => {
    if (ts.isVariableDeclaration(node) || ts.isParameter(node) || ts.isBindingElement(node)) bind(node.name);
    else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && node.name) names.add(node.name.text);
    else if (ts.isImportClause(node) && node.name) names.add(node.name.text);
    else if (ts.isImportSpecifier(node) || ts.isNamespaceImport(node)) names.add(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** The file a relative import names (`./job/Charts` → …/job/Charts.tsx), or null. */
function resolveImport(from, specifier) {
  if (!specifier.startsWith(".")) return null;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.tsx`, `${base}.ts`, join(base, "index.tsx"), join(base, "index.ts")])
    if (existsSync(candidate) && !readdirSafe(candidate)) return candidate;
  return null;
}
const readdirSafe = (path) => {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
};

const under = (path, dir) => path.startsWith(dir + sep);
const stem = (path) => basename(path).replace(/\.(tsx|ts)$/, "");
/** pages/JobPage.tsx → pages/job, pages/Settings.tsx → pages/settings. */
const sectionOf = (page) => join(pages, stem(page).replace(/Page$/, "").toLowerCase());
const isHelper = (path) => /^[a-z]/.test(basename(path));

/** Why `file` may not import `target` (both under pages/), or null when it may. */
function pageImportProblem(file, target) {
  if (dirname(file) === pages) return under(target, sectionOf(file)) ? null : "imports another page";
  if (dirname(target) === dirname(file) && isHelper(target)) return null;
  return dirname(target) === dirname(file) ? "imports another section (shared pieces go to a helper)" : "imports another page";
}

function check(path) {
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true, path.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found = [];
  const report = (node, what) => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    found.push({ line: line + 1, what });
  };
  const own = declaredNames(source);
  const inPages = under(path, pages);
  const checkImport = (node, specifier) => {
    if (!inPages) return;
    const target = resolveImport(path, specifier);
    if (!target || !under(target, pages)) return;
    const problem = pageImportProblem(path, target);
    const edge = `${relative(root, path)} -> ${relative(root, target)}`.split(sep).join("/");
    if (problem && !pending.has(edge)) report(node, `${problem}: ${relative(root, target).split(sep).join("/")}`);
  };
  const visit = (node) => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (ts.isIdentifier(callee) && dialogs.has(callee.text) && !own.has(callee.text)) report(node, `the browser's ${callee.text}()`);
      else if (
        ts.isPropertyAccessExpression(callee) &&
        dialogs.has(callee.name.text) &&
        ts.isIdentifier(callee.expression) &&
        globals.has(callee.expression.text)
      )
        report(node, `the browser's ${callee.expression.text}.${callee.name.text}()`);
      else if (callee.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) checkImport(node, node.arguments[0].text);
    } else if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      checkImport(node, node.moduleSpecifier.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

let failing = 0;
for (const path of files(root)) {
  for (const item of check(path)) {
    console.log(`${relative(process.cwd(), path)}:${item.line}: ${item.what}`);
    failing += 1;
  }
}
console.log(`page-rules: ${failing} problem(s) (the browser's dialogs, pages importing pages)`);
process.exit(failing > 0 ? 1 : 0);
