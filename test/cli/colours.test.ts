import { describe, expect, it } from "vitest";
import { csv, runCli, tmp, write } from "../helpers.js";

// Colour goes only to a terminal: `bulk-users providers > file` run on one keeps escapes out of the file.
const ESC = "\u001b[";

describe("colours follow the stream they are written to", () => {
  it("stdout redirected while stderr is a terminal: no escapes in stdout", async () => {
    const r = await runCli(["providers"], { tty: true, env: { NO_COLOR: undefined } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(ESC);
    const onTerminal = await runCli(["providers"], { tty: true, stdoutTty: true, env: { NO_COLOR: undefined } });
    expect(onTerminal.stdout).toContain(ESC);
  });

  it("the import summary on a redirected stdout has no escapes", async () => {
    const dir = tmp("bu-colour-");
    const f = write(dir, "u.csv", csv(["user_id"], [["a"], ["bad id"]]));
    const r = await runCli(["validate", f, "-p", "zego", "--report", `${dir}/r.jsonl`, "--no-progress"], { tty: true, env: { NO_COLOR: undefined } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/invalid 1/);
    expect(r.stdout).not.toContain(ESC);
    const onTerminal = await runCli(["validate", f, "-p", "zego", "--report", `${dir}/r2.jsonl`, "--no-progress"], { tty: true, stdoutTty: true, env: { NO_COLOR: undefined } });
    expect(onTerminal.stdout).toContain(ESC);
  });
});
