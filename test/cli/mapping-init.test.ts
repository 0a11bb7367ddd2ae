import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli, tmp } from "../helpers.js";

const EXPORTS = ["auth0-users.jsonl", "firebase-auth.csv", "clerk-users.csv", "hr-export.csv"];

describe("bulk-users mapping init", () => {
  const dir = tmp("bu-init-");

  it.each(EXPORTS)("%s → a zego mapping that validates every row", async (file) => {
    const out = `${dir}/zego-${file}.yaml`;
    const r = await runCli(["mapping", "init", `samples/exports/${file}`, "-p", "zego", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text.split("\n")[0]).toMatch(/^# yaml-language-server: \$schema=.*schema\/mapping\.schema\.json$/);
    expect(text).toMatch(/\n {2}UserId: .*# guess: /);
    const v = await runCli(["validate", `samples/exports/${file}`, "-p", "zego", "-m", out, "--report", `${dir}/${file}.jsonl`, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).counts.valid).toBe(3);
  });

  it.each([
    ["genauth", "auth0-users.jsonl", ["email: { column: email, transform: [trim, lower] }", "externalId: user_id", "photo: picture", "givenName: given_name"]],
    ["royalti", "clerk-users.csv", ["firstName: first_name", "lastName: last_name", "email: { column: primary_email_address", "sendEmail: false    # CHOOSE"]],
    ["huawei-workspace", "hr-export.csv", ['user_name: "Employee ID"', 'user_email: { column: "Work Email"', "user_phone: Mobile", 'group_ids: { column: Department, transform: [{ split: ";" }] }']],
    ["imkit", "firebase-auth.csv", ["_id: localId", "nickname: displayName", "avatarUrl: photoUrl"]],
  ])("%s from %s guesses by synonyms and validates", async (provider, file, lines) => {
    const out = `${dir}/${provider}.yaml`;
    const r = await runCli(["mapping", "init", `samples/exports/${file}`, "-p", provider, "-o", out, "--force"]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    for (const l of lines) expect(text).toContain(l);
    const v = await runCli(["validate", `samples/exports/${file}`, "-p", provider, "-m", out, "--report", `${dir}/${provider}.jsonl`, "--json"]);
    expect(JSON.parse(v.stdout).counts.valid).toBeGreaterThan(0);
  });

  it("says what it could not map, and comments each field left out", async () => {
    const r = await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego"]);
    expect(r.stdout).toMatch(/# UserAvatar: +# not mapped: no column looked like avatar/);
    expect(r.stderr).toMatch(/Not mapped \(optional\): UserAvatar/);
    const g = await runCli(["mapping", "init", "samples/exports/firebase-auth.csv", "-p", "royalti"]);
    expect(g.stdout).toMatch(/# firstName: +# REQUIRED, fill in/);
    expect(g.stderr).toMatch(/Could not map required field\(s\): firstName, lastName/);
  });

  it("refuses to overwrite without --force", async () => {
    const out = `${dir}/exists.yaml`;
    await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", out]);
    const again = await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/Refusing to overwrite/);
  });
});
