import type { Transform } from "./schema.js";

export type Value = unknown;

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Reformats a date-like value; throws with a reason the row's error will carry. */
export function formatDate(v: unknown, format: string): string {
  const s = String(v).trim();
  const d = /^\d+$/.test(s) ? new Date(Number(s) * (s.length > 10 ? 1 : 1000)) : new Date(s);
  if (Number.isNaN(d.getTime())) throw new Error(`\`${s}\` is not a date`);
  if (format === "iso") return d.toISOString();
  if (format === "unix") return String(Math.floor(d.getTime() / 1000));
  if (format === "date") format = "YYYY-MM-DD";
  return format
    .replace("YYYY", String(d.getUTCFullYear()))
    .replace("MM", pad(d.getUTCMonth() + 1))
    .replace("DD", pad(d.getUTCDate()))
    .replace("HH", pad(d.getUTCHours()))
    .replace("mm", pad(d.getUTCMinutes()))
    .replace("ss", pad(d.getUTCSeconds()))
    .replace("SSS", pad(d.getUTCMilliseconds(), 3));
}

const CALLING: Record<string, string> = {
  US: "1", CA: "1", GB: "44", DE: "49", FR: "33", ES: "34", IT: "39", NL: "31", BE: "32", CH: "41", AT: "43",
  SE: "46", NO: "47", DK: "45", FI: "358", IE: "353", PT: "351", PL: "48", CN: "86", JP: "81", KR: "82",
  IN: "91", SG: "65", HK: "852", TW: "886", AU: "61", NZ: "64", BR: "55", MX: "52", AR: "54", ZA: "27",
  NG: "234", KE: "254", AE: "971", SA: "966", TR: "90", RU: "7", ID: "62", PH: "63", VN: "84", TH: "66", MY: "60",
};

/** E.164 from a national or international number; a leading 0 trunk prefix is dropped. */
export function toE164(v: unknown, country = "US"): string {
  const raw = String(v).trim();
  let digits = raw.replace(/[\s().-]/g, "");
  if (digits.startsWith("00")) digits = `+${digits.slice(2)}`;
  if (!/^\+?\d+$/.test(digits)) throw new Error(`\`${raw}\` is not a phone number`);
  if (!digits.startsWith("+")) {
    const cc = CALLING[country.toUpperCase()];
    if (!cc) throw new Error(`no calling code known for country ${country}`);
    digits = `+${cc}${digits.replace(/^0+/, "")}`;
  }
  if (digits.length < 8 || digits.length > 16) throw new Error(`\`${raw}\` has the wrong number of digits for a phone`);
  return digits;
}

/** Applies one transform; undefined/empty values pass through untouched. */
export function applyTransform(v: Value, t: Transform): Value {
  if (v === undefined || v === null || v === "") return v;
  if (typeof t === "string") {
    switch (t) {
      case "trim":
        return typeof v === "string" ? v.trim() : Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x.trim() : x)) : v;
      case "lower":
        return typeof v === "string" ? v.toLowerCase() : Array.isArray(v) ? v.map((x) => String(x).toLowerCase()) : v;
      case "upper":
        return typeof v === "string" ? v.toUpperCase() : Array.isArray(v) ? v.map((x) => String(x).toUpperCase()) : v;
      case "split":
        return applyTransform(v, { split: "," });
      case "join":
        return applyTransform(v, { join: "," });
      case "e164":
        return applyTransform(v, { e164: "US" });
    }
  }
  if ("split" in t) return Array.isArray(v) ? v : String(v).split(t.split).map((s) => s.trim()).filter((s) => s !== "");
  if ("join" in t) return Array.isArray(v) ? v.join(t.join) : v;
  if ("date" in t) return formatDate(v, t.date);
  return toE164(v, t.e164);
}
