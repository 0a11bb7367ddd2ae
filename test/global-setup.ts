import { execFileSync } from "node:child_process";
import { existsSync, statSync, readdirSync } from "node:fs";
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

export default function setup(): void {
  const built = existsSync("dist/bundle/cli.js") ? statSync("dist/bundle/cli.js").mtimeMs : 0;
  if (built < Math.max(newest("src"), statSync("scripts/bundle.mjs").mtimeMs)) {
    execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
    execFileSync(process.execPath, ["scripts/bundle.mjs"], { stdio: "inherit" });
  }
}
