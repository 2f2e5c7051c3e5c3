// The catalogue check (docs/ui.md, "Languages"): no string shown to a person may be written inline in web/src; it
// comes from the catalogue through t(). With TypeScript's own parser, over every .ts/.tsx in web/src except i18n/,
// this fails on
//   - JSX text with a letter in it (`<p>Nothing here</p>`),
//   - a string literal (or template with letters) rendered as a JSX child (`{busy ? "Saving…" : x}`),
//   - a string literal in a user-facing JSX attribute (title, aria-label, placeholder, alt, label, ...),
//   - a string literal passed to confirm/alert/prompt, to a setError-like setter, or to `new Error`,
// unless the text is in the allowlist below. It prints file:line and the text of each.
//
//   node web/i18n-check.mjs                      every file counts (the rule once every page is translated)
//   node web/i18n-check.mjs --only A.tsx B.ts    reports every file, but only these make it fail
//   node web/i18n-check.mjs --root DIR           checks DIR instead of web/src (the check's own test)
//
// A missing or extra key in a language is not checked here: the catalogues are typed (`Record<MessageKey, string>`),
// so the type checker refuses them.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const ts = require("/usr/share/nodejs/typescript");

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
// `--root DIR` checks another tree (the check's own test plants literals in one).
const rootAt = args.indexOf("--root");
const root = rootAt >= 0 ? args[rootAt + 1] : join(here, "src");

// Texts that are the same in every language, so they stay inline. Keep this short: a word a person reads belongs in
// the catalogue.
const allowed = new Set([
  "Bastion", // the product's name
  "KiB", // sizes: 1024-based units read the same in Chinese
  "MiB",
  "GiB",
  "ms", // milliseconds, after a number
  "s", // seconds, after a number
  "B", // bytes
  "UTC", // the zone's name
  "JSON", // a format's name
]);

// JSX attributes a person reads (or hears, through a screen reader).
const userAttributes = new Set([
  "title",
  "aria-label",
  "aria-description",
  "aria-roledescription",
  "aria-valuetext",
  "aria-placeholder",
  "placeholder",
  "alt",
  "label",
  "summary",
  "data-label", // a table cell's column name, shown beside the value on a phone (styles.css)
]);

// Calls whose string argument is shown: the browser's dialogs and the pages' error and message setters.
const userCalls = /^(confirm|alert|prompt|set(Error|Message|Notice|Problem|Warning|Info|Hint|Feedback|Toast))$/;

const hasLetter = (text) => /\p{L}/u.test(text);
/**
 * Whether `text` has a word a person reads that is not in the allowlist (`42 ms` and `· ◐` pass; so does a template
 * variable such as `{{error}}`, which is the same in every language).
 */
const offending = (text) => hasLetter(text.replace(/\{\{\s*\w+\s*\}\}/g, "").replace(/[\p{L}\p{N}]+/gu, (word) => (allowed.has(word) || !hasLetter(word) ? "" : word)));

function files(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== join(root, "i18n")) out.push(...files(path));
    } else if (/\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

/** The string literals an expression evaluates to directly (through ?:, &&, ||, ??, parentheses, templates). */
function literals(node) {
  if (!node) return [];
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node];
  if (ts.isTemplateExpression(node)) {
    const parts = [node.head, ...node.templateSpans.map((span) => span.literal)];
    const text = parts.map((part) => part.text).join("");
    return hasLetter(text) ? [node] : node.templateSpans.flatMap((span) => literals(span.expression));
  }
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) return literals(node.expression);
  if (ts.isConditionalExpression(node)) return [...literals(node.whenTrue), ...literals(node.whenFalse)];
  if (ts.isBinaryExpression(node)) {
    const op = node.operatorToken.kind;
    if (op === ts.SyntaxKind.AmpersandAmpersandToken) return literals(node.right);
    if (op === ts.SyntaxKind.BarBarToken || op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.PlusToken)
      return [...literals(node.left), ...literals(node.right)];
  }
  return [];
}

function textOf(node) {
  if (ts.isTemplateExpression(node)) {
    return node.head.text + node.templateSpans.map((span) => "${…}" + span.literal.text).join("");
  }
  return node.text;
}

function calleeName(expression) {
  if (ts.isIdentifier(expression)) return expression.text;
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text;
  return "";
}

function check(path) {
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true, path.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found = [];
  const report = (node, what, text) => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    found.push({ line: line + 1, what, text: text.replace(/\s+/g, " ").trim() });
  };
  const reportLiterals = (expression, what) => {
    for (const literal of literals(expression)) if (offending(textOf(literal))) report(literal, what, textOf(literal));
  };
  const visit = (node) => {
    if (ts.isJsxText(node)) {
      if (offending(node.text)) report(node, "JSX text", node.text);
    } else if (ts.isJsxExpression(node) && node.parent && (ts.isJsxElement(node.parent) || ts.isJsxFragment(node.parent))) {
      reportLiterals(node.expression, "JSX child");
    } else if (ts.isJsxAttribute(node) && userAttributes.has(node.name.getText(source))) {
      const init = node.initializer;
      if (init && ts.isStringLiteral(init) && offending(init.text)) report(init, `${node.name.getText(source)}=`, init.text);
      else if (init && ts.isJsxExpression(init)) reportLiterals(init.expression, `${node.name.getText(source)}=`);
    } else if (ts.isCallExpression(node) && userCalls.test(calleeName(node.expression))) {
      for (const argument of node.arguments) reportLiterals(argument, `${calleeName(node.expression)}()`);
    } else if (ts.isNewExpression(node) && calleeName(node.expression) === "Error") {
      for (const argument of node.arguments ?? []) reportLiterals(argument, "new Error()");
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args.slice(onlyAt + 1).filter((arg, index, list) => arg !== "--root" && list[index - 1] !== "--root") : null;
const enforced = (file) => only === null || only.some((name) => file === name || file.endsWith("/" + name));

let failing = 0;
let reported = 0;
for (const path of files(root)) {
  const file = relative(root, path);
  const found = check(path);
  if (found.length === 0) continue;
  const counts = enforced(file);
  for (const item of found) {
    console.log(`${counts ? "" : "(not enforced) "}${relative(process.cwd(), path) || file}:${item.line}: ${item.what}: ${JSON.stringify(item.text)}`);
  }
  reported += found.length;
  if (counts) failing += found.length;
}
console.log(
  `i18n-check: ${reported} inline string(s) shown to people` +
    (only === null ? "" : `, ${failing} in the enforced files (--only ${only.length} file(s))`) +
    "; each belongs in web/src/i18n (t(\"area.key\")) or, if it reads the same in every language, in the allowlist.",
);
process.exit(failing > 0 ? 1 : 0);
