import { Command } from "commander";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { CliIO } from "../ui/io.js";
import { MAX_TIMER_MS } from "./import.js";

// Decimal digits only, as import's options: Number() also reads 0x10, 1e3 and Infinity, and "" as 0.
/** A whole number from `min` to `max`. */
const whole = (name: string, what: string, min: number, max: number) => (v: string) => {
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= min && n <= max)) throw new BulkUsersError(ErrorCode.USAGE, `${name}: expected ${what} from ${min} to ${max}, got \`${v}\``);
  return n;
};
/** A delay up to what a timer takes: a longer one fires at once. */
const ms = (name: string) => whole(name, "a whole number of ms", 0, MAX_TIMER_MS);
const probability = (name: string) => (v: string) => {
  const n = /^\s*(?:\d+(?:\.\d*)?|\.\d+)\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 0 && n <= 1)) throw new BulkUsersError(ErrorCode.USAGE, `${name}: expected a probability from 0 to 1, got \`${v}\``);
  return n;
};
/** The fault RNG takes a 32-bit seed: 2^32 would repeat seed 0's faults. */
const MAX_SEED = 2 ** 32 - 1;
/** Requests in any second: 0 (or a fraction) would refuse every request. */
const MAX_RATE_LIMIT = 1_000_000;

export function emulateCommand(io: CliIO, done: (code: number) => void): Command {
  return new Command("emulate")
    .description("run a provider's local emulator (strict: auth, limits, field rules, duplicates) on 127.0.0.1")
    .argument("<provider>", "provider name")
    .option("--port <n>", "port (0 = any free port)", whole("--port", "a port", 0, 65535), 0)
    .option("--latency <ms>", "delay before each answer", ms("--latency"), 0)
    .option("--rate-limit <n>", "requests per second it accepts, a whole number from 1 (default: the vendor's)", whole("--rate-limit", "a whole number of requests", 1, MAX_RATE_LIMIT))
    .option("--fail-rate <p>", "probability of a server error (5xx) per request", probability("--fail-rate"), 0)
    .option("--timeout-rate <p>", "probability of processing a request but never answering", probability("--timeout-rate"), 0)
    .option("--throttle-rate <p>", "probability of a throttling answer", probability("--throttle-rate"), 0)
    .option("--drop-rate <p>", "probability of dropping the connection", probability("--drop-rate"), 0)
    .option("--gateway-rate <p>", "probability of processing a request, then answering a gateway's 502 (the five rates add up to at most 1)", probability("--gateway-rate"), 0)
    .option("--seed <n>", "fault seed", whole("--seed", "a whole number", 0, MAX_SEED), 1)
    .addHelpText(
      "after",
      `
Examples:
  $ bulk-users emulate zego --port 8080
  $ bulk-users emulate zego --port 8080 --latency 30 --fail-rate 0.1   # then, with the credentials it prints:
  $ bulk-users import users.csv -p zego --endpoint http://127.0.0.1:8080
Credentials: the emulator accepts the provider's credential variables from the environment;
when they are not all set it makes throwaway ones and prints them.`,
    )
    .action(async (name: string, o: Record<string, number>) => {
      const faults = { error: o.failRate!, timeout: o.timeoutRate!, throttle: o.throttleRate!, drop: o.dropRate!, gateway: o.gatewayRate! };
      // One fault a request at most, drawn in turn: past 1 in all, the later rates are cut short.
      const sum = Object.values(faults).reduce((a, b) => a + b, 0);
      if (sum > 1 + 1e-9)
        throw new BulkUsersError(ErrorCode.USAGE, `the fault rates add up to ${Number(sum.toFixed(6))}, more than 1: each is the probability of its own fault on a request`, {
          hint: "Lower --fail-rate, --timeout-rate, --throttle-rate, --drop-rate or --gateway-rate so that they add up to 1 at most.",
        });
      const { emulators } = await import("../emulators/index.js");
      const { loadProvider } = await import("../providers/index.js");
      const provider = await loadProvider(name);
      const def = await emulators[provider.name]!();
      const given = Object.fromEntries(provider.env.map((v) => [v.name, io.env[v.name]]).filter(([, v]) => v)) as Record<string, string>;
      const fresh = def.sandboxEnv();
      // Given credentials are used when they are a set the adapter runs on: every variable it
      // needs, by its own rule (Huawei's HUAWEI_AUTH_TOKEN stands in for the IAM user). Asking
      // for all the sandbox's variables printed IAM ones the import ignores for the token it has.
      const needed = (v: (typeof provider.env)[number]) => v.required === true || (typeof v.required === "string" && !given[v.required]);
      const useGiven = provider.env.every((v) => !needed(v) || given[v.name]);
      const env = useGiven ? { ...fresh, ...given } : fresh;
      const emu = def.create({
        env,
        latencyMs: o.latency,
        rateLimit: o.rateLimit,
        seed: o.seed,
        faults,
      });
      let url: string;
      try {
        url = await emu.listen(o.port);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE" || code === "EACCES")
          throw new BulkUsersError(ErrorCode.USAGE, `Cannot listen on 127.0.0.1:${o.port}: ${code === "EADDRINUSE" ? "the port is in use" : "permission denied"}`, {
            hint: "Pick another --port, or --port 0 for any free one.",
          });
        throw e;
      }
      io.stdout.write(`${provider.name} emulator listening on ${url}\n`);
      if (!useGiven) {
        io.stdout.write("Throwaway credentials it accepts (emulator only):\n");
        for (const [k, v] of Object.entries(env)) io.stdout.write(`  export ${k}=${v}\n`);
      }
      io.stdout.write(`Import into it: bulk-users import FILE -p ${provider.name} --endpoint ${url}\nUsers: GET ${url}/_emulator/users   Stats: GET ${url}/_emulator/stats\n`);
      const stop = () => {
        void emu.close().then(() => done(0));
      };
      if (io.handleSignals) {
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      }
    });
}
