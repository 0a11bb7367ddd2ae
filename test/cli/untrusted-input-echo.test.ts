import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { metaPath } from "../../src/core/resume.js";
import { csv, runCli, tmp, write } from "../helpers.js";

const ESC = "\u001b]0;pwned\u0007\u001b[2J";
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

describe("bulk-users report prints a hand-edited report and meta without control characters", () => {
  it("a report row's `line` reaches the terminal without control characters", async () => {
    const dir = tmp("bu-bug-line-");
    const file = write(dir, "r.jsonl", `${JSON.stringify({ file: "u.csv", line: `2${ESC}`, key: "k", status: "failed", code: "E1", message: "m" })}\n`);
    const r = await runCli(["report", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("]0;pwned");
    expect(r.stdout).not.toMatch(CONTROL);
  });

  it("the run's facts from <report>.meta.json reach the terminal without control characters", async () => {
    const dir = tmp("bu-bug-meta-");
    const file = write(dir, "r.jsonl", `${JSON.stringify({ file: "u.csv", line: 2, key: "k", status: "created" })}\n`);
    writeFileSync(metaPath(file), JSON.stringify({ provider: `zego${ESC}`, startedAt: `2024-01-01${ESC}`, shard: `1/2${ESC}` }));
    const r = await runCli(["report", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("provider zego");
    expect(r.stdout).not.toMatch(CONTROL);
  });
});

describe("a URL password in an endpoint that does not parse", () => {
  it("an --endpoint that does not parse is not echoed with its password, on stderr or in the Markdown summary", async () => {
    const dir = tmp("bu-bug-ep-");
    const input = write(dir, "u.csv", csv(["user_id"], [["a"]]));
    const r = await runCli(["import", input, "-p", "zego", "--endpoint", "https://proxyuser:ProxyPw-Secret@[bad", "--report", join(dir, "r.jsonl"), "--summary", join(dir, "s.md")], {
      env: { ZEGO_APP_ID: "1", ZEGO_SERVER_SECRET: "bug-test-secret-00000000000000001" },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Invalid endpoint URL/);
    expect(r.stderr + readFileSync(join(dir, "s.md"), "utf8")).not.toContain("ProxyPw-Secret");
    const q = await runCli(["import", input, "-p", "zego", "--endpoint", "https://host:99999/?access_token=QueryTok-Secret&region=eu", "--report", join(dir, "q.jsonl")], {
      env: { ZEGO_APP_ID: "1", ZEGO_SERVER_SECRET: "bug-test-secret-00000000000000001" },
    });
    expect(q.code).toBe(2);
    expect(q.stderr).toContain("Invalid endpoint URL (--endpoint): https://host:99999/?access_token=***&region=eu");
  });
});

describe("withoutUserInfo and maskUrlText", () => {
  it("masks user info up to the last @, a password holding / or # too", async () => {
    const { withoutUserInfo } = await import("../../src/util/url.js");
    expect(withoutUserInfo("https://u:p/w#x@[bad")).toBe("https://***@[bad");
    expect(withoutUserInfo("https://u:pw@host:99999")).toBe("https://***@host:99999");
    expect(withoutUserInfo("https://host:99999/a")).toBe("https://host:99999/a");
  });

  it("maskUrlText also masks secret query values, not a signature's method or an empty value", async () => {
    const { maskUrlText } = await import("../../src/util/url.js");
    expect(maskUrlText("https://u:pw@host:99999/?apiKey=k1&SignatureMethod=md5&token=&x=1#f")).toBe("https://***@host:99999/?apiKey=***&SignatureMethod=md5&token=&x=1#f");
  });
});
