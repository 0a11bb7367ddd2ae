import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The CLI process tests run bin/, which loads dist/bundle/: rebuild only when a source is newer. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): () => void {
  const built = existsSync("dist/bundle/cli.js") ? statSync("dist/bundle/cli.js").mtimeMs : 0;
  if (built < Math.max(newest("src"), statSync("scripts/bundle.mjs").mtimeMs)) {
    execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
    execFileSync(process.execPath, ["scripts/bundle.mjs"], { stdio: "inherit" });
  }
  // Every temporary file of the run (tests' directories, the CLI's spilled key sets, those of the
  // processes tests start) goes under one directory, removed when the run ends.
  const root = mkdtempSync(join(tmpdir(), "bulk-users-test-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(root, { recursive: true, force: true });
  };
}
