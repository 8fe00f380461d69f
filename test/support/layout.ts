/** The layout's import rules, checked by test/infra/layout.spec.ts (a root argument, so that any tree can be checked). */
import * as fs from "fs";
import * as path from "path";

/** Every relative import, dynamic import and require of the .ts files under `dir`, resolved to a path from `root`. */
export function importsUnder(root: string, dir: string): { file: string; target: string }[] {
    const out: { file: string; target: string }[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(path.join(root, d), { withFileTypes: true })) {
            const rel = path.posix.join(d, e.name);
            if (e.isDirectory()) {
                if (e.name !== "node_modules" && !e.name.startsWith(".")) walk(rel);
            } else if (e.name.endsWith(".ts")) {
                const src = fs.readFileSync(path.join(root, rel), "utf8");
                for (const m of src.matchAll(/(?:\bfrom|\bimport\(|\brequire\()\s*["'](\.{1,2}\/[^"']*)["']/g)) {
                    out.push({ file: rel, target: path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1])) });
                }
            }
        }
    };
    walk(dir);
    return out;
}

/** The imports that break the layout's two rules, as "file -> target". */
export function layoutViolations(root: string): string[] {
    const top = fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== "node_modules" && !e.name.startsWith(".") && e.name !== "test").map((e) => e.name);
    const all = [...top.flatMap((d) => importsUnder(root, d)), ...["index.ts", "config.ts"].filter((f) => fs.existsSync(path.join(root, f))).flatMap((f) => importsUnder(root, ".").filter((i) => i.file === f))];
    const under = (p: string, dir: string) => p === dir || p.startsWith(dir + "/");
    return all
        .filter((i) => under(i.target, "test") || (under(i.file, "providers") && ["rehearsal", "testkit"].some((d) => under(i.target, d))))
        .map((i) => `${i.file} -> ${i.target}`);
}

