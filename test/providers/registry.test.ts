import { existsSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { emulators } from "../../src/emulators/index.js";
import { providerNames, providers } from "../../src/providers/index.js";

const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.startsWith("_") && f !== "index.ts" && f !== "define.ts").map((f) => f.replace(/\.ts$/, ""));

describe("provider registry", () => {
  it("every provider module is registered, has an emulator, a conformance test and a sample mapping", async () => {
    expect(files("src/providers").sort()).toEqual(providerNames());
    for (const name of providerNames()) {
      expect(emulators[name], `${name} emulator`).toBeTypeOf("function");
      expect(existsSync(`test/providers/${name}.test.ts`), `${name} test`).toBe(true);
      expect(existsSync(`samples/${name}.mapping.yaml`), `${name} sample mapping`).toBe(true);
      const p = await providers[name]!();
      expect(p.name).toBe(name);
      expect(p.fields[p.key], `${name} key field`).toBeDefined();
      const def = await emulators[name]!();
      const env = def.sandboxEnv();
      for (const v of p.env.filter((v) => v.required === true)) expect(env[v.name], `${name} sandbox ${v.name}`).toBeTruthy();
    }
    expect(files("src/emulators").sort()).toEqual(providerNames());
  });
});
