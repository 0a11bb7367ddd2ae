import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { mappingJsonSchema } from "../../src/mapping/json-schema.js";

describe("mapping JSON Schema", () => {
  it("the shipped schema/mapping.schema.json is generated from the loader's schema (run npm run build)", () => {
    expect(JSON.parse(readFileSync("schema/mapping.schema.json", "utf8"))).toEqual(mappingJsonSchema());
  });

  it("describes fields, transforms and options", () => {
    const s = JSON.stringify(mappingJsonSchema());
    for (const word of ["fields", "template", "transform", "split", "e164", "options"]) expect(s).toContain(word);
  });
});
