import { describe, expect, it } from "vitest";
import { Redactor } from "../../src/report/redact.js";

describe("Redactor: vendor echoes of a secret", () => {
  it("masks a secret echoed JSON-escaped twice (a request body quoted inside a JSON answer)", () => {
    const r = new Redactor();
    const secret = 'pa"ss-Word42';
    r.add(secret);
    const echo = JSON.stringify(JSON.stringify(secret));
    const out = r.redact(`{"error":${echo}}`);
    expect(out).toBe('{"error":"\\"***\\""}');
    for (const part of ["pa", "ss-Word42", "Word"]) expect(out).not.toContain(part);
  });

  it("masks a secret that contains a shorter one whole, whatever order they were added in", () => {
    const r = new Redactor();
    r.add("Secret12");
    r.add("Secret12345");
    expect(r.redact("x Secret12345 y")).toBe("x *** y");
    expect(r.redact("x Secret12 y")).toBe("x *** y");
  });

  it("masks a cut-off tail of 4 characters that starts a secret, and leaves one of 3 alone", () => {
    const r = new Redactor();
    r.add("RWAKxyz9Q");
    expect(r.redact("ends in RWAK")).toBe("ends in ***");
    expect(r.redact("ends in RWAKxyz")).toBe("ends in ***");
    expect(r.redact("ends in RWA")).toBe("ends in RWA");
  });
});
