/**
 * `npx tsx scripts/function-lengths.ts [repoRoot]`: the ten longest functions of what deploys
 * and the local stack (packages/, functions/, local/, infra/), counted as physical lines from
 * signature to closing brace (comments and nested callbacks included, unlike Biome's
 * noExcessiveLinesPerFunction, which enforces the 60-line limit). Prints `lines name file:line`,
 * then how many functions exceed 50 and 60 lines. Works on any checkout (`git worktree`), so a
 * refactoring's before and after can be compared.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import ts from "typescript";

const root = process.argv[2] ?? process.cwd();
const files = execFileSync("git", ["ls-files", "packages", "functions", "local", "infra"], {
  cwd: root,
  encoding: "utf8",
})
  .split("\n")
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.endsWith(".gen.ts"));

/** The function's name: its own, or the variable or property it is assigned to. */
function nameOf(node: ts.SignatureDeclaration, sf: ts.SourceFile): string {
  if (node.name) return node.name.getText(sf);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText(sf);
  return "(anonymous)";
}

const found: Array<{ lines: number; name: string; at: string }> = [];
for (const file of files) {
  const sf = ts.createSourceFile(file, readFileSync(`${root}/${file}`, "utf8"), ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.end).line;
      found.push({ lines: end - start + 1, name: nameOf(node, sf), at: `${file}:${start + 1}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
found.sort((a, b) => b.lines - a.lines);
for (const f of found.slice(0, 10)) console.log(`${f.lines}\t${f.name}\t${f.at}`);
const over = (n: number) => found.filter((f) => f.lines > n).length;
console.log(`over 50 lines: ${over(50)}; over 60 lines: ${over(60)}; functions: ${found.length}`);
