import { spawnSync } from "node:child_process";
import { existsSync, linkSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { csv, readReport, runCli, tmp, write } from "../helpers.js";

const EXPORTS = ["auth0-users.jsonl", "firebase-auth.csv", "clerk-users.csv", "hr-export.csv"];

describe("bulk-users mapping init", () => {
  const dir = tmp("bu-init-");

  it.each(EXPORTS)("%s → a zego mapping that validates every row", async (file) => {
    const out = `${dir}/zego-${file}.yaml`;
    const r = await runCli(["mapping", "init", `samples/exports/${file}`, "-p", "zego", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    // The schema line comes first and points, relative to the file, at the real schema.
    const ref = /^# yaml-language-server: \$schema=(.*schema\/mapping\.schema\.json)$/.exec(text.split("\n")[0]!)?.[1];
    expect(ref && existsSync(resolve(dirname(out), ref))).toBe(true);
    expect(parseYaml(text)).toMatchObject({ provider: "zego", fields: { UserId: expect.anything() } });
    expect(text).toMatch(/\n {2}UserId: .*# guess: /);
    const v = await runCli(["validate", `samples/exports/${file}`, "-p", "zego", "-m", out, "--report", `${dir}/${file}.jsonl`, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).counts.valid).toBe(3);
  });

  it("keeps Auth0 ids with `|` (ZEGO allows it) and nested keys as dotted paths", async () => {
    const r = await runCli(["mapping", "init", "samples/exports/auth0-users.jsonl", "-p", "zego"]);
    expect(r.stdout).toMatch(/\n {2}UserId: user_id +# guess: column "user_id" has the field's name/);
    expect(r.stdout).toMatch(/\n {2}UserName: name +# guess: column "name" looks like a full name/);
    expect(r.stdout).toMatch(/\n {2}UserAvatar: picture +# guess: column "picture" looks like an avatar/);
    expect(r.stdout).toMatch(/# Columns not used: .*user_metadata\.team/);
    const f = write(dir, "m.yaml", r.stdout);
    await runCli(["validate", "samples/exports/auth0-users.jsonl", "-p", "zego", "-m", f, "--report", `${dir}/a0.jsonl`]);
    expect(readReport(`${dir}/a0.jsonl`).map((x) => x.key)).toEqual(["auth0|65a1f0c2e1", "google-oauth2|10492", "auth0|65a1f0c2e3"]);
  });

  it.each([
    ["genauth", "auth0-users.jsonl", ["email: { column: email, transform: [trim, lower] }", "externalId: user_id", "photo: picture", "givenName: given_name", "phone: user_metadata.phone"]],
    ["genauth", "hr-export.csv", ['name: { template: "{First Name} {Last Name}"', 'givenName: "First Name"', 'familyName: "Last Name"', 'externalId: "Employee ID"']],
    ["royalti", "clerk-users.csv", ["firstName: first_name", "lastName: last_name", "email: { column: primary_email_address", "\noptions:\n  sendEmail: false", "# CHOOSE true or false"]],
    ["huawei-workspace", "hr-export.csv", ['user_name: "Employee ID"', 'user_email: { column: "Work Email"', "user_phone: { column: Mobile, transform: [{ e164: US }] }", 'group_ids: { column: Department, transform: [{ split: ";" }] }']],
    ["imkit", "firebase-auth.csv", ["_id: localId", "nickname: displayName", "avatarUrl: photoUrl"]],
  ])("%s from %s guesses by synonyms and validates", async (provider, file, lines) => {
    const out = `${dir}/${provider}-${file}.yaml`;
    const r = await runCli(["mapping", "init", `samples/exports/${file}`, "-p", provider, "-o", out, "--force"]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    for (const l of lines) expect(text).toContain(l);
    // Other providers' field rules evolve on their own: the mapping must leave valid rows, or say why not.
    const v = await runCli(["validate", `samples/exports/${file}`, "-p", provider, "-m", out, "--report", `${dir}/${provider}.jsonl`, "--json"]);
    expect([0, 1], v.stderr).toContain(v.code);
    expect(JSON.parse(v.stdout).counts.valid).toBeGreaterThan(0);
  });

  it.each(["genauth", "huawei-workspace"])("%s: a column of password hashes is never proposed as the plain password", async (provider) => {
    const r = await runCli(["mapping", "init", "samples/exports/firebase-auth.csv", "-p", provider]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^\s*password: passwordHash/m);
    expect(r.stdout).toMatch(/# password: .*not mapped: column "passwordHash" holds password hashes, not passwords/);
  });

  it("tries each guess on the first rows: values that break the rules are flagged, without quoting them", async () => {
    const long = `https://example.com/${"a".repeat(600)}.png`;
    const f = write(dir, "sampled.csv", csv(["uid", "display_name", "avatar"], [["p1", "Pat", long], ["p 2", "Sam", long], ["p3", "Kim", "https://example.com/k.png"]]));
    const out = `${dir}/sampled.yaml`;
    const r = await runCli(["mapping", "init", f, "-p", "zego", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    // The key stays mapped (every row needs it) with a note; an optional field most rows break is left out.
    expect(text).toMatch(/\n {2}UserId: uid +# guess: column "uid" looks like an id; CHECK: 1 of 3 sampled value\(s\) break the rules: UserId may hold only/);
    expect(text).toMatch(/\n {2}# UserAvatar: avatar +# CHECK, left out: column "avatar" looks like an avatar, but 2 of 3 sampled value\(s\) break the rules: UserAvatar is \d+ bytes, at most 500 allowed/);
    expect(text).not.toContain("p 2");
    expect(text).not.toContain("aaaa");
    expect(parseYaml(text).fields).toEqual({ UserId: "uid", UserName: "display_name" });
    expect(r.stderr).toMatch(/warning: UserAvatar ← avatar: 2 of 3 sampled value\(s\) break the rules: .* — left commented out/);
    expect(r.stderr).toMatch(/Wrote .*sampled\.yaml: 2 field\(s\) guessed/);
  });

  it("writes the provider's options: the ones to choose set, the others commented", async () => {
    const r = await runCli(["mapping", "init", "samples/exports/clerk-users.csv", "-p", "royalti"]);
    expect(r.stdout).toMatch(/\noptions:\n {2}sendEmail: false +# CHOOSE true or false: royalti refuses to import until it is set\n {2}# redirect_url: +# optional \(url\)\n {2}# message: +# optional \(string\)\n/);
    expect(r.stderr).toMatch(/Choose options\.sendEmail \(written as false\): \[royalti\] sendEmail must be chosen explicitly/);
    expect(parseYaml(r.stdout).options).toEqual({ sendEmail: false });
    // Nothing to choose: the whole block is commented, so the file has no `options:` key.
    const g = await runCli(["mapping", "init", "samples/exports/clerk-users.csv", "-p", "genauth"]);
    expect(g.stdout).toMatch(/\n# options:\n {2}# keepPassword: +# optional \(boolean\)\n/);
    expect(g.stdout).toMatch(/# passwordEncryptType: +# optional \(none \| rsa \| sm2\)/);
    expect(parseYaml(g.stdout).options).toBeUndefined();
    // No options schema (zego): no options block at all.
    expect((await runCli(["mapping", "init", "samples/exports/clerk-users.csv", "-p", "zego"])).stdout).not.toMatch(/options:/);
  });

  it("says what it could not map, and comments each field left out", async () => {
    const r = await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego"]);
    expect(r.stdout).toMatch(/# UserAvatar: +# not mapped: no column looked like an avatar\n/);
    expect(r.stderr).toMatch(/Not mapped \(optional\): UserAvatar/);
    const g = await runCli(["mapping", "init", "samples/exports/firebase-auth.csv", "-p", "royalti"]);
    expect(g.stdout).toMatch(/# firstName: +# REQUIRED, fill in: no column looked like a first name/);
    expect(g.stderr).toMatch(/Could not map required field\(s\): firstName, lastName — fill them in \(columns: localId, email,/);
    const h = await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "huawei-workspace"]);
    expect(h.stdout).toMatch(/# active_type: +# not mapped: no column named active_type \(one of USER_ACTIVATE, ADMIN_ACTIVATE\)/);
  });

  it("a CSV with a header only, synonyms in odd spellings, and names YAML would misread", async () => {
    const f = write(dir, "odd.csv", "UID,E-Mail,Display Name,yes\n");
    const r = await runCli(["mapping", "init", f, "-p", "zego"]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseYaml(r.stdout).fields).toEqual({ UserId: "UID", UserName: "Display Name" });
    expect(r.stdout).toMatch(/# Columns not used: E-Mail, yes/);
  });

  it("refuses to overwrite without --force, and unknown providers", async () => {
    const out = `${dir}/exists.yaml`;
    await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", out]);
    const again = await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/Refusing to overwrite/);
    expect((await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", out, "--force"])).code).toBe(0);
    expect((await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zegoo"])).code).toBe(2);
    expect((await runCli(["mapping", "init", `${dir}/missing.csv`, "-p", "zego"])).code).toBe(2);
  });

  it("never writes over its input, even with --force (a hard link of it too)", async () => {
    const input = write(dir, "self.csv", csv(["user_id", "name"], [["u1", "Ann"]]));
    const before = readFileSync(input, "utf8");
    linkSync(input, `${dir}/self-link.csv`);
    for (const out of [input, `${dir}/self-link.csv`]) {
      const r = await runCli(["mapping", "init", input, "-p", "zego", "-o", out, "--force"]);
      expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/is the input/)]);
    }
    expect(readFileSync(input, "utf8")).toBe(before);
  });

  it("a column name with a line break stays inside its comment: the mapping it writes loads", async () => {
    const input = write(dir, "nl.csv", 'user_id,"x\ny",name\nu1,v,Ann\n');
    const out = `${dir}/nl.yaml`;
    const r = await runCli(["mapping", "init", input, "-p", "zego", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toContain("# Columns not used: x\\ny");
    const v = await runCli(["validate", input, "-p", "zego", "-m", out, "--report", `${dir}/nl.jsonl`]);
    expect(v.code, v.stderr).toBe(0);
  });
});

describe("bulk-users mapping init: delimiter, output, nothing guessed", () => {
  const dir = tmp("bu-init2-");

  it("--delimiter reads a ;-separated export's columns as import does", async () => {
    const f = write(dir, "semi.csv", "uid;display_name\nu1;Ann\n");
    const r = await runCli(["mapping", "init", f, "-p", "zego", "--delimiter", ";"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\n {2}UserId: uid +# guess/);
    expect(r.stdout).toMatch(/\n {2}UserName: display_name +# guess/);
  });

  it("without --force, never writes through a dangling symlink (its target is not created)", async () => {
    const f = write(dir, "u.csv", "uid\nu1\n");
    const target = `${dir}/elsewhere.yaml`;
    symlinkSync(target, `${dir}/link.yaml`);
    const r = await runCli(["mapping", "init", f, "-p", "zego", "-o", `${dir}/link.yaml`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Refusing to overwrite");
    expect(existsSync(target)).toBe(false);
  });

  it("a proposal with no field guessed loads to the error naming the required field, not a type error", async () => {
    const f = write(dir, "none.csv", "zzz,yyy\n1,2\n");
    const r = await runCli(["mapping", "init", f, "-p", "zego", "-o", `${dir}/none.yaml`]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseYaml(readFileSync(`${dir}/none.yaml`, "utf8")).fields).toBeNull();
    const v = await runCli(["validate", f, "-p", "zego", "-m", `${dir}/none.yaml`, "--report", `${dir}/none.jsonl`]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain("zego requires fields.UserId, which the mapping does not map");
  });
});

describe("bulk-users mapping init -o FILE.json", () => {
  it("is refused: the proposal is YAML with comments, which a .json mapping cannot hold", async () => {
    const dir = tmp("bu-init-json-");
    const r = await runCli(["mapping", "init", "samples/exports/hr-export.csv", "-p", "zego", "-o", `${dir}/z.json`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mapping init writes YAML .*z\.json/);
    expect(existsSync(`${dir}/z.json`)).toBe(false);
  });
});

describe("bulk-users mapping preview", () => {
  const dir = tmp("bu-preview-");

  it("shows what the first rows map to and what validation says, secret fields masked", async () => {
    const f = write(dir, "p.csv", csv(["email", "pw", "first", "last", "when"], [["A@X.io ", "Pw-Preview-Secret-1", "Ada", "Lovelace", "1990-02-03"], ["bad", "Pw-Preview-Secret-2", "", "", "1990-02-30"], ["c@x.io", "Pw-Preview-Secret-3", "C", "D", ""]]));
    const m = write(dir, "p.yaml", 'fields:\n  email: { column: email, transform: [trim, lower] }\n  password: pw\n  name: { template: "{first} {last}", transform: [trim] }\n  birthdate: { column: when, transform: [{ date: date }] }\n');
    const r = await runCli(["mapping", "preview", f, "-p", "genauth", "-m", m, "-n", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({ file: f, line: 2, user: { email: "a@x.io", password: "***", name: "Ada Lovelace", birthdate: "1990-02-03" }, issues: [] });
    expect(rows[1].issues.map((i: { field: string; code: string }) => `${i.field}:${i.code}`)).toEqual(expect.arrayContaining(["birthdate:TRANSFORM", "email:BAD_FORMAT"]));
    const text = await runCli(["mapping", "preview", f, "-p", "genauth", "-m", m]);
    expect(text.stdout).toMatch(/p\.csv, line 2 valid\n {2}email: "a@x\.io"\n {2}password: "\*\*\*"/);
    expect(text.stdout).toMatch(/line 3 invalid[\s\S]*✗ birthdate TRANSFORM: /);
    expect(text.stdout + text.stderr).not.toContain("Pw-Preview-Secret");
    for (const n of ["0", "0x2", "1e2", "-1", ""]) {
      const bad = await runCli(["mapping", "preview", f, "-p", "genauth", "-m", m, "-n", n]);
      expect(bad.code, n).toBe(2);
      expect(bad.stderr).toMatch(/--rows must be a whole number from 1/);
    }
  });

  it("shows a value nested thousands deep by what it is, not by its JSON (which would overflow the stack)", async () => {
    const f = write(dir, "deep.jsonl", `{"user_id":"u1","name":${"[".repeat(20_000)}${"]".repeat(20_000)}}\n{"user_id":"u2","name":[["ok"]]}\n`);
    const m = write(dir, "deep.yaml", "fields:\n  UserId: user_id\n  UserName: name\n");
    for (const json of [false, true]) {
      const r = await runCli(["mapping", "preview", f, "-p", "zego", "-m", m, ...(json ? ["--json"] : [])]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("(a value nested more than 100 levels deep)");
      expect(r.stdout).toContain(json ? '"UserName":[["ok"]]' : 'UserName: [["ok"]]');
    }
  });

  it("without --mapping: says what it mapped, and refuses columns with no key-like name as validate does", async () => {
    const f = write(dir, "auto.csv", csv(["user_id", "name"], [["u1", "Ann"]]));
    const r = await runCli(["mapping", "preview", f, "-p", "zego"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/No --mapping: mapped user_id → UserId/);
    const none = write(dir, "none.csv", csv(["who", "name"], [["u1", "Ann"]]));
    const p = await runCli(["mapping", "preview", none, "-p", "zego"]);
    const v = await runCli(["validate", none, "-p", "zego", "--report", `${dir}/none.jsonl`]);
    expect([p.code, v.code]).toEqual([2, 2]);
    expect(p.stderr).toMatch(/no column of .*none\.csv is named like the key field UserId/);
    expect(v.stderr).toMatch(/no column of .*none\.csv is named like the key field UserId/);
  });

  it("without --mapping, a JSONL file is mapped from the keys of its first block of records, then from keys spelled as a field, on both parse paths", async () => {
    const long = "n".repeat(70);
    const lines = ['{"user_id":"u1"}', `{"user_id":"u2","user_name":"${long}"}`];
    // Past the first 64 KiB read: a key spelled as the field is still read.
    for (let i = 3; i <= 2000; i++) lines.push(`{"user_id":"u${i}","pad":"${"p".repeat(40)}"}`);
    lines.push(`{"user_id":"late","UserAvatar":"https://example.com/${"a".repeat(500)}"}`);
    const f = write(dir, "sparse.jsonl", `${lines.join("\n")}\n`);
    for (const mode of ["off", "on"]) {
      const report = `${dir}/sparse-${mode}.jsonl`;
      // The compiled CLI: the parse thread runs the built worker.
      const r = spawnSync(process.execPath, ["bin/bulk-users.js", "validate", f, "-p", "zego", "--parse-thread", mode, "--report", report], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/No --mapping: mapped user_id → UserId, user_name → UserName; UserAvatar from keys so named, in the records that hold one/);
      expect(r.stderr, mode).not.toMatch(/had a value/);
      expect(readReport(report).filter((x) => x.status === "invalid").map((x) => [x.key, x.field])).toEqual([
        ["u2", "UserName"],
        ["late", "UserAvatar"],
      ]);
    }
  });
});
