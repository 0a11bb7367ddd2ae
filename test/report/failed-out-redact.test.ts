import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createFailedOut } from "../../src/report/failed-out.js";
import { Redactor } from "../../src/report/redact.js";
import { tmp } from "../helpers.js";

const TOKEN = "tok_9fKq2LmZ7xWvB3nR";

describe("createFailedOut: the `_error` note of a row to fix", () => {
  it.each(["fix.jsonl", "fix.csv"])("holds no part of a secret the vendor echoed, whole or cut off (%s)", (name) => {
    const r = new Redactor();
    r.add(TOKEN);
    const path = join(tmp(), name);
    const out = createFailedOut(path, r);
    out.setColumns(0, ["email", "name"]);
    out.write({ file: "u.csv", fileIndex: 0, line: 2, data: { email: "a@x.io", name: "A" } }, `401: bad token ${TOKEN.slice(0, 10)}`);
    out.write({ file: "u.csv", fileIndex: 0, line: 3, data: { email: "b@x.io", name: "B" } }, `401: token ${TOKEN} rejected`);
    out.close();
    const text = readFileSync(path, "utf8");
    expect(text).not.toContain(TOKEN.slice(0, 8));
    expect(text).toContain("line 2: 401: bad token ***");
    expect(text).toContain("line 3: 401: token *** rejected");
    expect(text).toContain("a@x.io");
  });
});
