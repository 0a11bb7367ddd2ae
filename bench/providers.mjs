// Per-provider setup of the quota runs: how the generator's columns
// (user_id, first_name, last_name, email, phone, avatar; see generate.mjs) map onto each
// provider's fields. Extension point: a provider without an entry here gets the mapping that
// `bulk-users mapping init` proposes for the file; add an entry when that guess is not what a
// realistic import would send, or when the provider needs options. run.mjs dry-runs the file with
// the mapping first and skips the provider, with the reason, unless every row is valid.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";

export const QUOTA_MAPPINGS = {
  zego: `fields:
  UserId: user_id
  UserName: { template: "{first_name} {last_name}", transform: [trim] }
  UserAvatar: avatar
`,
  imkit: `fields:
  _id: user_id
  nickname: { template: "{first_name} {last_name}", transform: [trim] }
  avatarUrl: avatar
`,
  genauth: `fields:
  email: { column: email, transform: [trim, lower] }
  username: user_id
  phone: phone
  name: { template: "{first_name} {last_name}", transform: [trim] }
`,
  royalti: `fields:
  firstName: first_name
  lastName: last_name
  email: { column: email, transform: [trim, lower] }
  phone: { column: phone, transform: [{ e164: US }] }
options:
  sendEmail: false
`,
  "huawei-workspace": `fields:
  user_name: user_id
  user_email: { column: email, transform: [trim, lower] }
  user_phone: { column: phone, transform: [{ e164: US }] }
  alias_name: { template: "{first_name} {last_name}", transform: [trim] }
`,
};

/** Writes the quota mapping of `name` to `path`; says where it came from. */
export function writeQuotaMapping(name, file, path) {
  if (QUOTA_MAPPINGS[name]) {
    writeFileSync(path, QUOTA_MAPPINGS[name]);
    return "bench/providers.mjs";
  }
  const r = spawnSync("node", ["bin/bulk-users.js", "mapping", "init", file, "-p", name, "-o", path, "--force"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mapping init for ${name} exited ${r.status}: ${r.stderr.trim().slice(-300)}`);
  return "mapping init";
}
