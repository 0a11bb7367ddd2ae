import { Command } from "commander";
import { BulkUsersError, ErrorCode } from "../errors.js";
import type { CliIO } from "../ui/io.js";
import { MAX_TIMER_MS } from "./import.js";

const num = (v: string) => {
  const n = Number(v);
  if (v.trim() === "" || !(n >= 0)) throw new BulkUsersError(ErrorCode.USAGE, `expected a number ≥ 0, got \`${v}\``);
  return n;
};
/** A delay up to what a timer takes: a longer one fires at once. */
const ms = (v: string) => {
  const n = num(v);
  if (n > MAX_TIMER_MS) throw new BulkUsersError(ErrorCode.USAGE, `expected at most ${MAX_TIMER_MS} ms, got \`${v}\``);
  return n;
};
const probability = (v: string) => {
  const n = Number(v);
  if (v.trim() === "" || !(n >= 0 && n <= 1)) throw new BulkUsersError(ErrorCode.USAGE, `expected a probability from 0 to 1, got \`${v}\``);
  return n;
};
const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535 || v.trim() === "") throw new BulkUsersError(ErrorCode.USAGE, `expected a port from 0 to 65535, got \`${v}\``);
  return n;
};

export function emulateCommand(io: CliIO, done: (code: number) => void): Command {
  return new Command("emulate")
    .description("run a provider's local emulator (strict: auth, limits, field rules, duplicates) on 127.0.0.1")
    .argument("<provider>", "provider name")
    .option("--port <n>", "port (0 = any free port)", port, 0)
    .option("--latency <ms>", "delay before each answer", ms, 0)
    .option("--rate-limit <n>", "requests per second it accepts (default: the vendor's)", num)
    .option("--fail-rate <p>", "probability of a server error (5xx) per request", probability, 0)
    .option("--timeout-rate <p>", "probability of processing a request but never answering", probability, 0)
    .option("--throttle-rate <p>", "probability of a throttling answer", probability, 0)
    .option("--drop-rate <p>", "probability of dropping the connection", probability, 0)
    .option("--seed <n>", "fault seed", num, 1)
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
      const { emulators } = await import("../emulators/index.js");
      const { loadProvider } = await import("../providers/index.js");
      const provider = await loadProvider(name);
      const def = await emulators[provider.name]!();
      const given = Object.fromEntries(provider.env.map((v) => [v.name, io.env[v.name]]).filter(([, v]) => v)) as Record<string, string>;
      const fresh = def.sandboxEnv();
      const useGiven = Object.keys(fresh).every((k) => given[k]);
      const env = useGiven ? { ...fresh, ...given } : fresh;
      const emu = def.create({
        env,
        latencyMs: o.latency,
        rateLimit: o.rateLimit,
        seed: o.seed,
        faults: { error: o.failRate, timeout: o.timeoutRate, throttle: o.throttleRate, drop: o.dropRate },
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
