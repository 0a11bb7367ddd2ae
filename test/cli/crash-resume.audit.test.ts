/**
 * Crash safety and --resume, end to end: the real CLI process (bin/bulk-users.js) imports a few
 * hundred rows (valid, invalid, duplicate) into each provider's emulator through a gate, a small
 * proxy that counts every create request per user and can hold requests (before they reach the
 * vendor, or after the vendor processed them, holding back the answer). The process is killed
 * (SIGKILL), interrupted (SIGINT, once with the grace let through or expiring, or twice) while
 * requests are held, so every kill point is a known state, never a timing guess. It is then
 * resumed, killed during the resume, resumed again, and resumed once finished. Asserted:
 *
 *  - every valid user is stored at the vendor exactly once, and the final report has exactly one
 *    row per input line, with the right status and exit code;
 *  - a user the resumed report calls done is never sent again;
 *  - a user reaches the vendor again after the vendor stored it (a re-send) only when it was in
 *    doubt at a kill: in the journal (`<report>.sent`) and without an answer in the report. README:
 *    "rows in flight when the process died … A request in flight at the crash may have reached the
 *    vendor; its users then come back as `exists`", with the SENT_BEFORE message; GenAuth and
 *    Huawei (all-or-nothing) re-send such a user twice: in the refused batch and then alone
 *    ("they are sent one by one and the rest of the batch together"); IMKIT upserts, so its
 *    re-send is counted the same way and reported `upserted`;
 *  - every user that reached the gate before a kill is in that run's journal.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { writeFile as writeFileAsync } from "node:fs/promises";
import type { Socket } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { keyHash } from "../../src/core/resume.js";
import { MAYBE_CREATED, SENT_BEFORE } from "../../src/core/sender.js";
import { emulators } from "../../src/emulators/index.js";
import type { Emulator } from "../../src/emulators/_base.js";
import { reportRows } from "../../src/report/rows.js";
import type { ReportRow } from "../../src/types.js";
import { csv, tmp, write } from "../helpers.js";

// ---------------------------------------------------------------------------------------------
// Providers

interface Case {
  name: string;
  /** The vendor's batch size (the adapter's maxBatch). */
  batch: number;
  /** Field the emulator stores the key under. */
  storedKey: string;
  header: string[];
  /** Input column of the key. */
  keyCol: string;
  row(i: number): string[];
  /** A row the local field rules refuse (never sent). */
  invalid: string[];
  mapping: Record<string, unknown>;
  /** Whether a create request is one of this vendor's (token routes pass straight through). */
  isCreate(url: URL): boolean;
  keysOf(body: unknown): string[];
  /** Status of a user that was new at the vendor / that the vendor had already. */
  created: string;
  exists: string;
  /** Whole-request refusals: a doubtful user is re-sent in the refused batch and then alone. */
  allOrNothing: boolean;
  /** The vendor stores the rest of a request that holds a user it refuses (per-user answers). */
  partial: boolean;
}

type Body = Record<string, Record<string, string>[]>;
const CASES: Case[] = [
  {
    name: "zego",
    keyCol: "id",
    batch: 100,
    storedKey: "UserId",
    header: ["id", "name"],
    row: (i) => [`z${i}`, `Ada L${i}`],
    invalid: ["bad/id", "Bad"],
    mapping: { fields: { UserId: "id", UserName: "name" } },
    isCreate: (u) => u.searchParams.get("Action") === "UserRegister",
    keysOf: (b) => (b as Body).UserInfo!.map((u) => u.UserId!),
    created: "created",
    exists: "exists",
    allOrNothing: false,
    partial: true,
  },
  {
    name: "imkit",
    keyCol: "id",
    batch: 99,
    storedKey: "_id",
    header: ["id", "name", "avatar"],
    row: (i) => [`c${i}`, `Ada L${i}`, `https://example.com/${i}.png`],
    invalid: ["c-bad", "Bad", "not a url"],
    mapping: { fields: { _id: "id", nickname: "name", avatarUrl: "avatar" } },
    isCreate: (u) => u.pathname === "/admin/clients/list",
    keysOf: (b) => (b as Body).data!.map((u) => u._id!),
    created: "upserted",
    exists: "upserted",
    allOrNothing: false,
    partial: false,
  },
  {
    name: "genauth",
    keyCol: "email",
    batch: 50,
    storedKey: "email",
    header: ["email", "login", "name"],
    row: (i) => [`g${i}@example.com`, `login${i}`, `Ada L${i}`],
    invalid: ["not-an-email", "login-bad", "Bad"],
    mapping: { fields: { email: "email", username: "login", name: "name" } },
    isCreate: (u) => u.pathname === "/api/v3/create-users-batch",
    keysOf: (b) => (b as Body).list!.map((u) => u.email!),
    created: "created",
    exists: "exists",
    allOrNothing: true,
    partial: false,
  },
  {
    name: "royalti",
    keyCol: "email",
    batch: 50,
    storedKey: "email",
    header: ["first", "last", "email"],
    row: (i) => ["Ada", `L${i}`, `r${i}@example.com`],
    invalid: ["Bad", "Mail", "not-an-email"],
    mapping: { fields: { firstName: "first", lastName: "last", email: "email" }, options: { sendEmail: false } },
    isCreate: (u) => u.pathname === "/user/bulk",
    keysOf: (b) => (b as Body).users!.map((u) => u.email!),
    created: "created",
    exists: "exists",
    allOrNothing: false,
    partial: true,
  },
  {
    name: "huawei-workspace",
    keyCol: "login",
    batch: 200,
    storedKey: "user_name",
    header: ["login", "email"],
    row: (i) => [`h.${i}`, `h${i}@example.com`],
    invalid: ["has space", "x@example.com"],
    mapping: { fields: { user_name: "login", user_email: "email" } },
    isCreate: (u) => /\/users\/batch-create$/.test(u.pathname),
    keysOf: (b) => (b as Body).users!.map((u) => u.user_name!),
    created: "created",
    exists: "exists",
    allOrNothing: true,
    partial: false,
  },
];
const byName = (n: string) => CASES.find((c) => c.name === n)!;

// ---------------------------------------------------------------------------------------------
// Inputs: 5 batches of valid users, invalid rows and duplicates among them

interface Line {
  line: number;
  kind: "valid" | "invalid" | "duplicate";
  key: string;
  /** Index among the valid users (valid lines only). */
  vi?: number;
}

function buildInput(c: Case, n = 5 * c.batch): { text: string; lines: Line[]; valid: string[] } {
  const rows: string[][] = [];
  const lines: Line[] = [];
  const valid: string[] = [];
  const keyOf = (cells: string[]) => cells[c.header.indexOf(c.keyCol)]!;
  const push = (cells: string[], kind: Line["kind"], vi?: number) => {
    rows.push(cells);
    lines.push({ line: rows.length + 1, kind, key: keyOf(cells), vi });
  };
  push(c.invalid, "invalid");
  for (let i = 0; i < n; i++) {
    push(c.row(i), "valid", i);
    valid.push(keyOf(c.row(i)));
    if (i % 37 === 36) push(c.invalid, "invalid");
    if (i % 53 === 52) push(c.row(i - 5), "duplicate");
  }
  push(c.row(3), "duplicate");
  push(c.invalid, "invalid");
  return { text: csv(c.header, rows), lines, valid };
}

// ---------------------------------------------------------------------------------------------
// The gate

interface Held {
  users: string[];
  res: ServerResponse;
  /** Forwards (hold before) or answers (hold after). */
  go(): void;
}

type Mode = "pass" | "before" | "after";
type Action = Mode | "lose";

/** A loopback proxy in front of an emulator that sees, counts and can hold every create request. */
class Gate {
  url = "";
  private server: Server;
  private sockets = new Set<Socket>();
  /** Per phase (one CLI run), the users of every create request that reached the gate. */
  arrivals: string[][][] = [[]];
  /** Per user: create requests forwarded to the vendor / forwarded while the vendor already stored the user. */
  delivered = new Map<string, number>();
  storedBefore = new Map<string, number>();
  held: Held[] = [];
  /** Requests whose answer was lost (action "lose"). */
  lost: string[][] = [];
  /** What to do with each create request of this phase (by its users and its index in the phase). */
  action: (users: string[], index: number) => Action = () => "pass";

  constructor(
    private c: Case,
    private emu: Emulator,
  ) {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    const a = this.server.address();
    this.url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  }

  /** A new CLI run: its arrivals are counted apart; requests pass unless told. */
  phase(mode: Mode = "pass", holdIf: (users: string[], index: number) => boolean = () => false): void {
    this.phaseWith((users, index) => (mode !== "pass" && holdIf(users, index) ? mode : "pass"));
  }

  phaseWith(action: (users: string[], index: number) => Action): void {
    this.dropHeld();
    this.arrivals.push([]);
    this.action = action;
  }

  get current(): string[][] {
    return this.arrivals[this.arrivals.length - 1]!;
  }

  /** Users that reached the gate in the current phase. */
  arrived(): Set<string> {
    return new Set(this.current.flat());
  }

  /** Lets held requests go on (hold before: to the vendor; hold after: their answers) and stops holding. */
  release(): void {
    this.action = () => "pass";
    const h = this.held;
    this.held = [];
    for (const x of h) x.go();
  }

  /** Held requests of a killed client: a request held before never reaches the vendor. */
  dropHeld(): void {
    for (const x of this.held) x.res.destroy();
    this.held = [];
  }

  private stored(): Set<string> {
    return new Set(this.emu.users().map((u) => String(u[this.c.storedKey])));
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const target = new URL(req.url ?? "/", this.emu.url);
      const out = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host, connection: "close" } }, (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (d: Buffer) => chunks.push(d));
        r.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && !["connection", "keep-alive", "transfer-encoding", "content-length"].includes(k)) headers[k] = String(v);
          resolve({ status: r.statusCode ?? 500, headers, body: Buffer.concat(chunks) });
        });
        r.on("error", reject);
      });
      out.on("error", reject);
      out.end(body);
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const d of req) chunks.push(d as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://gate");
    const answer = (o: { status: number; headers: Record<string, string>; body: Buffer }) => {
      if (res.destroyed) return;
      res.writeHead(o.status, o.headers);
      res.end(o.body);
    };
    if (!this.c.isCreate(url)) return answer(await this.forward(req, body));
    const users = this.c.keysOf(JSON.parse(body.toString("utf8")));
    const index = this.current.length;
    this.current.push(users);
    const act = this.action(users, index);
    const deliver = async () => {
      const stored = this.stored();
      for (const u of users) {
        this.delivered.set(u, (this.delivered.get(u) ?? 0) + 1);
        if (stored.has(u)) this.storedBefore.set(u, (this.storedBefore.get(u) ?? 0) + 1);
      }
      return this.forward(req, body);
    };
    if (act === "before") {
      this.held.push({ users, res, go: () => void deliver().then(answer) });
      return;
    }
    const out = await deliver();
    if (act === "after") {
      this.held.push({ users, res, go: () => answer(out) });
      return;
    }
    // The vendor processed it; its answer is lost on the way (a dropped connection).
    if (act === "lose") {
      this.lost.push(users);
      req.socket.destroy();
      return;
    }
    answer(out);
  }

  async close(): Promise<void> {
    this.dropHeld();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

// ---------------------------------------------------------------------------------------------
// Running the CLI

interface Proc {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  stdout(): string;
}

function spawnCli(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ["bin/bulk-users.js", ...args], { env: { ...process.env, ...env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("close", (code, signal) => r({ code, signal })));
  return { child, exited, stderr: () => err, stdout: () => out };
}

/** Waits for observable state (gate, report, stderr), polling; fails with what it saw after a bound. */
async function until(cond: () => boolean | Promise<boolean>, what: () => string, ms = 25_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rowsOf(report: string): Promise<ReportRow[]> {
  const out: ReportRow[] = [];
  for await (const r of reportRows(report)) if (r) out.push(r);
  return out;
}

/** `<report>.sent` as `line:hash` entries (one input file, index 0). */
function journal(report: string): Set<string> {
  if (!existsSync(`${report}.sent`)) return new Set();
  const out = new Set<string>();
  for (const l of readFileSync(`${report}.sent`, "utf8").split("\n")) {
    const m = /^0:(\d+):(\d+)$/.exec(l);
    if (m) out.add(`${m[1]}:${m[2]}`);
  }
  return out;
}

/**
 * A FIFO in place of a file a run reads (a report, a journal), so that the run blocks right there
 * (where a big report on a slow disk keeps it copying) until fed: a kill or a Ctrl-C lands at
 * that moment. `feed` writes the file's text, plus `tail`, once the run opens it.
 */
function fifoInPlace(file: string): { feed(pid: number, tail?: string): Promise<void>; restore(): void } {
  const data = `${file}.data`;
  renameSync(file, data);
  execFileSync("mkfifo", [file]);
  const opened = (pid: number) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
  return {
    async feed(pid, tail = "") {
      await writeFileAsync(file, readFileSync(data, "utf8") + tail);
      await until(() => !opened(pid), () => `pid ${pid} still reads ${file}`);
    },
    restore() {
      rmSync(file, { force: true });
      renameSync(data, file);
    },
  };
}

const SUCCESS = new Set(["created", "updated", "upserted", "exists"]);

// ---------------------------------------------------------------------------------------------
// One job: an emulator, its gate, an input, and the runs against it

class Job {
  gate!: Gate;
  emu!: Emulator;
  env!: Record<string, string>;
  input: string;
  mapping: string;
  lines: Line[];
  valid: string[];
  /** Valid user → its input line. */
  lineOf = new Map<string, number>();
  /** Users in doubt at some kill (journaled, no answer in the report): the only ones a re-send may concern. */
  allowed = new Set<string>();
  /** Valid users the vendor refuses (a server-side rule): `failed`, never stored, sent again by every resume. */
  refused = new Set<string>();
  private n = 0;
  private static count = 0;
  private id = ++Job.count;

  constructor(
    public c: Case,
    public dir: string,
    rows?: number,
  ) {
    const b = buildInput(c, rows);
    this.lines = b.lines;
    this.valid = b.valid;
    for (const l of b.lines) if (l.kind === "valid") this.lineOf.set(l.key, l.line);
    this.input = write(dir, `${c.name}-${this.id}.csv`, b.text);
    this.mapping = write(dir, `${c.name}-${this.id}.mapping.json`, JSON.stringify(c.mapping));
  }

  async start(refuse: string[] = []): Promise<void> {
    const def = await emulators[this.c.name]!();
    this.env = def.sandboxEnv();
    for (const u of refuse) this.refused.add(u);
    // The vendor's quota is not under test here: a high one keeps the file fast.
    this.emu = def.create({ env: this.env, latencyMs: 3, rateLimit: 100_000, refuseKeys: refuse });
    await this.emu.listen(0);
    this.gate = new Gate(this.c, this.emu);
    await this.gate.listen();
  }

  async close(): Promise<void> {
    await this.gate?.close();
    await this.emu?.close();
  }

  report(ext = "jsonl"): string {
    return join(this.dir, `${this.c.name}-${this.id}-run${++this.n}.${ext}`);
  }

  args(report: string, extra: string[] = []): string[] {
    return ["import", this.input, "-p", this.c.name, "-m", this.mapping, "--endpoint", this.gate.url, "--report", report, "--rate", "2000", "--concurrency", "2", "--no-progress", "--backoff-base", "10", ...extra];
  }

  spawn(report: string, extra: string[] = []): Proc {
    return spawnCli(this.args(report, extra), this.env);
  }

  /** Valid users of batch k as the first run sends them. */
  batchUsers(k: number): string[] {
    return this.valid.slice(k * this.c.batch, (k + 1) * this.c.batch);
  }

  /** Holds requests holding a user of valid index ≥ from. */
  fromIndex(from: number): (users: string[]) => boolean {
    const vi = new Map(this.valid.map((k, i) => [k, i]));
    return (users) => users.some((u) => vi.get(u)! >= from);
  }

  heldUsers(): Set<string> {
    return new Set(this.gate.held.flatMap((h) => h.users));
  }

  /**
   * After a kill: every user that reached the gate in this run is in its journal, and the users
   * in doubt (journaled, no answer in the report) are recorded as allowed to be re-sent.
   */
  async afterKill(report: string): Promise<{ doubt: Set<string>; rows: ReportRow[] }> {
    const sent = journal(report);
    const rows = await rowsOf(report);
    const hash = (u: string) => `${this.lineOf.get(u)}:${keyHash(u)}`;
    for (const u of this.gate.arrived()) expect(sent.has(hash(u)), `${u} reached the vendor without a journal line`).toBe(true);
    const answered = new Set(rows.filter((r) => SUCCESS.has(r.status) || (r.status === "failed" && r.retryable === false)).map((r) => r.line));
    const doubt = new Set(this.valid.filter((u) => sent.has(hash(u)) && !answered.has(this.lineOf.get(u)!)));
    for (const u of doubt) this.allowed.add(u);
    return { doubt, rows };
  }

  /** Nothing the resumed report calls done goes out again in the current phase. */
  async noResendOfDone(resumed: string): Promise<void> {
    const done = new Set((await rowsOf(resumed)).filter((r) => SUCCESS.has(r.status)).map((r) => r.key));
    const again = [...this.gate.arrived()].filter((u) => done.has(u));
    expect(again, "users the resumed report had done were sent again").toEqual([]);
  }

  /**
   * The finished job: one row per input line with its status, every valid user stored once, and
   * re-sends only of users that were in doubt at a kill (README: "come back as exists" with SENT_BEFORE).
   */
  async assertFinished(report: string, code: number): Promise<ReportRow[]> {
    expect(code).toBe(1); // invalid and duplicate rows: exit 1, never 0 or 3
    const rows = await rowsOf(report);
    const byLine = new Map<number, ReportRow[]>();
    for (const r of rows) byLine.set(r.line, [...(byLine.get(r.line) ?? []), r]);
    expect([...byLine.keys()].sort((a, b) => a - b)).toEqual(this.lines.map((l) => l.line));
    for (const l of this.lines) {
      const rs = byLine.get(l.line)!;
      expect(rs, `line ${l.line}`).toHaveLength(1);
      const r = rs[0]!;
      if (l.kind !== "valid") {
        expect(r.status, `line ${l.line}`).toBe(l.kind);
        continue;
      }
      const again = this.gate.storedBefore.get(l.key) ?? 0;
      if (this.refused.has(l.key)) {
        expect(r, `line ${l.line}`).toMatchObject({ status: "failed", retryable: false });
        expect(again).toBe(0);
      } else if (again === 0) {
        expect(r.status, `line ${l.line} ${l.key}`).toBe(this.c.created);
        expect(this.gate.delivered.get(l.key) ?? 0, `${l.key} was never sent`).toBeGreaterThan(0);
      } else {
        expect(this.allowed.has(l.key), `${l.key} was sent again though it was never in doubt`).toBe(true);
        // One re-send; all-or-nothing vendors: in the refused batch, then alone.
        expect(again, l.key).toBeLessThanOrEqual(this.c.allOrNothing ? 2 : 1);
        expect(r.status, `line ${l.line} ${l.key}`).toBe(this.c.exists);
        if (this.c.exists === "exists") expect(r.message, `line ${l.line}`).toContain(SENT_BEFORE);
      }
    }
    const stored = this.emu.users().map((u) => String(u[this.c.storedKey]));
    expect(stored.length).toBe(new Set(stored).size);
    expect(new Set(stored)).toEqual(new Set(this.valid.filter((u) => !this.refused.has(u))));
    return rows;
  }

  /** Resuming a finished job sends nothing and reports the same. */
  async assertResumeOfFinished(report: string): Promise<void> {
    const next = this.report();
    this.gate.phase();
    const p = this.spawn(next, ["--resume", report, "--json"]);
    const { code } = await p.exited;
    expect(this.gate.current, "a finished run's resume sent requests").toEqual([]);
    await this.assertFinished(next, code!);
    expect(JSON.parse(p.stdout())).toMatchObject({ resumed: this.valid.length, requests: 0, counts: { failed: 0 } });
  }
}

const jobs: Job[] = [];
afterAll(() => Promise.all(jobs.map((j) => j.close())));

async function job(name: string, dir: string, o: { refuse?: (j: Job) => string[] } = {}): Promise<Job> {
  const j = new Job(byName(name), dir);
  jobs.push(j);
  await j.start(o.refuse?.(j));
  return j;
}

const sameSet = (a: Iterable<string>, b: Iterable<string>) => expect([...a].sort()).toEqual([...b].sort());

// ---------------------------------------------------------------------------------------------

describe("crash safety and --resume, every provider (audit)", () => {
  const dir = tmp("bu-crash-");

  it.each(CASES.map((c) => c.name))(
    "%s: SIGKILL with answers held, resume killed by two Ctrl-Cs, resume of the resume, resume of the finished run",
    async (name) => {
      const j = await job(name, dir);
      const B = j.c.batch;

      // Run 1: batches 0 and 1 answered; 2 and 3 reached the vendor, their answers held; SIGKILL.
      const r1 = j.report();
      j.gate.phase("after", j.fromIndex(2 * B));
      const p1 = j.spawn(r1);
      await until(() => j.gate.held.length === 2, () => `run 1 held ${j.gate.held.length}; ${p1.stderr()}`);
      sameSet(j.heldUsers(), [...j.batchUsers(2), ...j.batchUsers(3)]);
      p1.child.kill("SIGKILL");
      expect((await p1.exited).signal).toBe("SIGKILL");
      const k1 = await j.afterKill(r1);
      sameSet(k1.doubt, [...j.batchUsers(2), ...j.batchUsers(3)]);
      const ok1 = k1.rows.filter((r) => SUCCESS.has(r.status)).map((r) => r.key);
      sameSet(ok1, [...j.batchUsers(0), ...j.batchUsers(1)]);

      // Run 2 resumes it: batch 2 comes back as found (sent before), 3 and 4 are held before the
      // vendor; Ctrl-C, then Ctrl-C again cancels them at once (the grace would last a minute).
      const r2 = j.report();
      j.gate.phase("before", j.fromIndex(3 * B));
      const p2 = j.spawn(r2, ["--resume", r1, "--grace", "60000"]);
      await until(() => j.gate.held.length === 2, () => `run 2 held ${j.gate.held.length}; ${p2.stderr()}`);
      sameSet(j.heldUsers(), [...j.batchUsers(3), ...j.batchUsers(4)]);
      p2.child.kill("SIGINT");
      await until(() => /Stopping: no new rows are read/.test(p2.stderr()), () => p2.stderr());
      p2.child.kill("SIGINT");
      const e2 = await p2.exited;
      expect(e2.code, p2.stderr()).toBe(3);
      expect(p2.stderr()).toContain(`--resume ${r2}`);
      await j.noResendOfDone(r1);
      const k2 = await j.afterKill(r2);
      sameSet(k2.doubt, [...j.batchUsers(3), ...j.batchUsers(4)]);
      const rows2 = new Map(k2.rows.map((r) => [r.key, r]));
      for (const u of j.batchUsers(2)) {
        expect(rows2.get(u)?.status, u).toBe(j.c.exists);
        if (j.c.exists === "exists") expect(rows2.get(u)?.message).toContain(SENT_BEFORE);
      }
      for (const u of [...j.batchUsers(3), ...j.batchUsers(4)]) {
        expect(rows2.get(u), u).toMatchObject({ status: "failed", code: "CANCELLED", retryable: true });
        expect(rows2.get(u)!.message).toContain(MAYBE_CREATED);
      }
      // Carried rows keep no `t`; the new journal names no row the resumed report had done.
      for (const u of j.batchUsers(0)) expect(rows2.get(u)!.t).toBeUndefined();
      const sent2 = journal(r2);
      for (const u of [...j.batchUsers(0), ...j.batchUsers(1)]) expect(sent2.has(`${j.lineOf.get(u)}:${keyHash(u)}`), u).toBe(false);

      // Run 3 resumes the resume: batch 3 the vendor has (run 1), batch 4 it never saw.
      const r3 = j.report();
      j.gate.phase();
      const p3 = j.spawn(r3, ["--resume", r2]);
      const e3 = await p3.exited;
      await j.noResendOfDone(r2);
      const rows3 = await j.assertFinished(r3, e3.code!);
      const status3 = new Map(rows3.map((r) => [r.key, r.status]));
      for (const u of j.batchUsers(4)) expect(status3.get(u)).toBe(j.c.created);
      // Exactly the users in flight at run 1's kill were re-sent, once each (twice: all-or-nothing).
      sameSet(j.gate.storedBefore.keys(), [...j.batchUsers(2), ...j.batchUsers(3)]);
      if (!j.c.allOrNothing) expect([...j.gate.storedBefore.values()].every((v) => v === 1)).toBe(true);

      // Run 4: resuming the finished job sends nothing.
      await j.assertResumeOfFinished(r3);
    },
  );

  it.each(CASES.map((c) => c.name))(
    "%s (CSV reports): Ctrl-C with the grace let through, a resume killed with an answer held, its last line torn, then resumed",
    async (name) => {
      // The vendor refuses the last user of batch 4: failed (not retryable), never stored.
      const j = await job(name, dir, { refuse: (x) => [x.valid.at(-1)!] });
      const B = j.c.batch;

      // Run 1: requests 1 and 2 held before the vendor; Ctrl-C; they go on within the grace.
      const r1 = j.report("csv");
      j.gate.phase("before", j.fromIndex(B));
      const p1 = j.spawn(r1, ["--json"]);
      await until(() => j.gate.held.length === 2, () => `run 1 held ${j.gate.held.length}; ${p1.stderr()}`);
      p1.child.kill("SIGINT");
      await until(() => /Stopping: no new rows are read/.test(p1.stderr()), () => p1.stderr());
      j.gate.release();
      const e1 = await p1.exited;
      expect(e1.code, p1.stderr()).toBe(3);
      expect(JSON.parse(p1.stdout())).toMatchObject({ stopped: "interrupted", counts: { failed: 0 } });
      const k1 = await j.afterKill(r1);
      expect(k1.doubt.size).toBe(0);
      sameSet(
        k1.rows.filter((r) => SUCCESS.has(r.status)).map((r) => r.key),
        [0, 1, 2].flatMap((k) => j.batchUsers(k)),
      );

      // Run 2 resumes: batch 3 answered, batch 4 reached the vendor with its answer held; SIGKILL.
      const r2 = j.report("csv");
      j.gate.phase("after", j.fromIndex(4 * B));
      const p2 = j.spawn(r2, ["--resume", r1]);
      const done3 = async () => {
        const got = new Set((await rowsOf(r2).catch(() => [])).filter((r) => SUCCESS.has(r.status)).map((r) => r.key));
        return j.batchUsers(3).every((u) => got.has(u));
      };
      await until(async () => j.gate.held.length === 1 && (await done3()), () => `run 2 held ${j.gate.held.length}; ${p2.stderr()}`);
      p2.child.kill("SIGKILL");
      await p2.exited;
      await j.noResendOfDone(r1);
      // A kill mid-write: the last line cut inside its key, so no status is left of it.
      const text = readFileSync(r2, "utf8");
      const start = text.lastIndexOf("\n", text.length - 2) + 1;
      const last = text.slice(start);
      const cells = last.split(",");
      truncateSync(r2, start + cells[0]!.length + 1 + cells[1]!.length + 3);
      const tornLine = Number(cells[1]);
      const k2 = await j.afterKill(r2);
      const torn = j.lines.find((l) => l.line === tornLine)!;
      const expected = new Set(j.batchUsers(4));
      if (torn.kind === "valid") expected.add(torn.key);
      sameSet(k2.doubt, expected);

      // Run 3 finishes, into a JSONL report: the torn row's user and batch 4 are found as sent before.
      const r3 = j.report();
      j.gate.phase();
      const p3 = j.spawn(r3, ["--resume", r2]);
      const e3 = await p3.exited;
      expect(p3.stderr()).toMatch(/1 unreadable line\(s\) in .* ignored/);
      await j.noResendOfDone(r2);
      await j.assertFinished(r3, e3.code!);
      // Batch 4 reached the vendor in run 2: with the refused user in it, a vendor that answers
      // per user stored the rest; one that refuses the whole request stored none of it.
      const resent = new Set([...expected].filter((u) => !j.batchUsers(4).includes(u) || (j.c.partial && !j.refused.has(u))));
      sameSet(j.gate.storedBefore.keys(), resent);
    },
  );
});

describe("resume state files and changed jobs (audit)", () => {
  const dir = tmp("bu-crash-state-");

  /** A zego job killed with batches 2 and 3 at the vendor, their answers held; batches 0 and 1 done. */
  async function killedJob(name = "zego", mode: Mode = "after"): Promise<{ j: Job; r1: string; doubt: Set<string> }> {
    const j = await job(name, dir);
    const r1 = j.report();
    j.gate.phase(mode, j.fromIndex(2 * j.c.batch));
    const p = j.spawn(r1);
    await until(() => j.gate.held.length === 2, () => `held ${j.gate.held.length}; ${p.stderr()}`);
    p.child.kill("SIGKILL");
    await p.exited;
    j.gate.dropHeld();
    const { doubt } = await j.afterKill(r1);
    sameSet(doubt, [...j.batchUsers(2), ...j.batchUsers(3)]);
    return { j, r1, doubt };
  }

  async function resume(j: Job, from: string, extra: string[] = []): Promise<{ report: string; code: number; stderr: string; stdout: string }> {
    const report = j.report();
    j.gate.phase();
    const p = j.spawn(report, ["--resume", from, ...extra]);
    const { code } = await p.exited;
    return { report, code: code!, stderr: p.stderr(), stdout: p.stdout() };
  }

  it("SIGTERM with answers held: the grace runs out, the rows are CANCELLED, the resume finds them as sent before", async () => {
    const j = await job("genauth", dir);
    const r1 = j.report();
    j.gate.phase("after", j.fromIndex(2 * j.c.batch));
    const p = j.spawn(r1, ["--grace", "200"]);
    await until(() => j.gate.held.length === 2, () => `held ${j.gate.held.length}; ${p.stderr()}`);
    p.child.kill("SIGTERM");
    const e = await p.exited;
    expect(e.code, p.stderr()).toBe(3);
    j.gate.dropHeld();
    const { doubt, rows } = await j.afterKill(r1);
    sameSet(doubt, [...j.batchUsers(2), ...j.batchUsers(3)]);
    for (const r of rows.filter((x) => doubt.has(x.key) && j.lineOf.get(x.key) === x.line)) expect(r).toMatchObject({ status: "failed", code: "CANCELLED", retryable: true });
    const r = await resume(j, r1);
    await j.noResendOfDone(r1);
    await j.assertFinished(r.report, r.code);
    sameSet(j.gate.storedBefore.keys(), doubt);
  });

  it("SIGKILL with requests held before the vendor: the resume creates those users (journaled, never delivered)", async () => {
    const { j, r1, doubt } = await killedJob("royalti", "before");
    for (const u of doubt) expect(j.gate.delivered.get(u) ?? 0).toBe(0);
    const r = await resume(j, r1);
    const rows = await j.assertFinished(r.report, r.code);
    expect(j.gate.storedBefore.size).toBe(0);
    for (const row of rows.filter((x) => doubt.has(x.key) && j.lineOf.get(x.key) === x.line)) expect(row).toMatchObject({ status: "created" });
  });

  it("a missing journal: the users in flight come back exists (no claim that the run sent them), nobody twice", async () => {
    const { j, r1, doubt } = await killedJob();
    rmSync(`${r1}.sent`);
    const r = await resume(j, r1);
    expect(r.code).toBe(1);
    await j.noResendOfDone(r1);
    const rows = await rowsOf(r.report);
    const stored = j.emu.users().map((u) => String(u.UserId));
    expect(new Set(stored).size).toBe(stored.length);
    expect(new Set(stored)).toEqual(new Set(j.valid));
    for (const row of rows.filter((x) => doubt.has(x.key) && j.lineOf.get(x.key) === x.line)) {
      expect(row.status).toBe("exists");
      expect(row.message ?? "").not.toContain(SENT_BEFORE);
    }
    expect(rows.filter((x) => x.status === "failed")).toEqual([]);
    expect(new Set(rows.map((x) => x.line)).size).toBe(j.lines.length);
  });

  it("a journal with garbage, a line torn mid-write and CRLF: its whole lines still count, the torn one does not", async () => {
    const { j, r1, doubt } = await killedJob();
    const lines = readFileSync(`${r1}.sent`, "utf8").trim().split("\n");
    const tornUser = j.batchUsers(3).at(-1)!;
    const tornEntry = `0:${j.lineOf.get(tornUser)}:${keyHash(tornUser)}`;
    const kept = lines.filter((l) => l !== tornEntry);
    expect(kept.length).toBe(lines.length - 1);
    // Garbage and a CRLF line; the torn entry last, without its newline (not yet out: its request had not left).
    writeFileSync(`${r1}.sent`, `garbage\n${kept.join("\r\n")}\r\nnot:a:line:at:all\n0:x:1\n${tornEntry}`);
    const r = await resume(j, r1);
    const rows = new Map((await rowsOf(r.report)).filter((x) => j.lineOf.get(x.key) === x.line).map((x) => [x.key, x]));
    for (const u of doubt) {
      expect(rows.get(u)?.status, u).toBe("exists");
      if (u === tornUser) expect(rows.get(u)!.message ?? "").not.toContain(SENT_BEFORE);
      else expect(rows.get(u)!.message, u).toContain(SENT_BEFORE);
    }
  });

  it("a missing, corrupt or half-written meta file: resume refused (exit 2), nothing sent, no report written", async () => {
    const { j, r1 } = await killedJob();
    const meta = readFileSync(`${r1}.meta.json`, "utf8");
    const cases: [string | undefined, RegExp][] = [
      [undefined, /meta\.json is missing/],
      ["", /is not valid JSON/],
      [meta.slice(0, meta.length >> 1), /is not valid JSON/],
      ["[]", /is not a run's meta file/],
      [JSON.stringify({ ...JSON.parse(meta), inputs: "x" }), /is not a run's meta file/],
    ];
    for (const [text, why] of cases) {
      if (text === undefined) rmSync(`${r1}.meta.json`);
      else writeFileSync(`${r1}.meta.json`, text);
      const report = j.report();
      j.gate.phase();
      const p = j.spawn(report, ["--resume", r1]);
      const { code } = await p.exited;
      expect(code, p.stderr()).toBe(2);
      expect(p.stderr()).toMatch(why);
      expect(j.gate.current).toEqual([]);
      expect(existsSync(report), `${report} ${p.stderr()}`).toBe(false);
    }
    // The meta back: the job finishes.
    writeFileSync(`${r1}.meta.json`, meta);
    const r = await resume(j, r1);
    await j.assertFinished(r.report, r.code);
  });

  it("a changed input is refused without --force; with it, done lines are skipped and only new or replaced users are sent", async () => {
    const { j, r1, doubt } = await killedJob();
    const before = readFileSync(j.input, "utf8");
    // Line 3 (user z0, done) now holds another user, and rows are added at the end.
    const changed = before.replace(/^z0,Ada L0$/m, "zz-new,New One") + "zz-a1,A\nzz-a2,B\n";
    writeFileSync(j.input, changed);
    const refused = await resume(j, r1);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/Cannot resume: input .* changed since the earlier run/);
    expect(j.gate.current).toEqual([]);
    const forced = await resume(j, r1, ["--force", "--json"]);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(/1 row\(s\) held another user than the resumed report has at the same line/);
    const sentNow = j.gate.arrived();
    const expected = new Set([...doubt, ...j.batchUsers(4), "zz-new", "zz-a1", "zz-a2"]);
    sameSet(sentNow, expected);
    const rows = await rowsOf(forced.report);
    // The replaced line keeps both rows (README: the earlier run's and this one's).
    expect(rows.filter((r) => r.line === 3).map((r) => `${r.key} ${r.status}`)).toEqual(["z0 created", "zz-new created"]);
    for (const u of ["zz-a1", "zz-a2"]) expect(rows.find((r) => r.key === u)?.status).toBe("created");
    writeFileSync(j.input, before);
  });

  it("a changed mapping is refused without --force; a different provider is refused even with it", async () => {
    const { j, r1 } = await killedJob();
    const original = readFileSync(j.mapping, "utf8");
    writeFileSync(j.mapping, JSON.stringify({ fields: { UserId: "id", UserName: { template: "{name}!" } } }));
    const refused = await resume(j, r1);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/mapping .* changed since the earlier run/);
    expect(j.gate.current).toEqual([]);
    // A layout-only change is not a change (parsed fields are compared).
    writeFileSync(j.mapping, JSON.stringify(j.c.mapping, null, 4));
    // Another provider: imkit, with its own emulator, against zego's report.
    const imkit = await job("imkit", dir);
    const other = join(dir, "other.jsonl");
    const m = write(dir, "imkit-for-zego.json", JSON.stringify({ fields: { _id: "id", nickname: "name" } }));
    for (const force of [[], ["--force"]]) {
      imkit.gate.phase();
      const p = spawnCli(["import", j.input, "-p", "imkit", "-m", m, "--endpoint", imkit.gate.url, "--report", other, "--resume", r1, "--no-progress", ...force], imkit.env);
      const { code } = await p.exited;
      expect(code, p.stderr()).toBe(2);
      expect(p.stderr()).toMatch(/provider was zego, now imkit/);
      expect(imkit.gate.current).toEqual([]);
    }
    const r = await resume(j, r1);
    expect(r.stderr).not.toMatch(/warning|error/);
    await j.assertFinished(r.report, r.code);
    writeFileSync(j.mapping, original);
  });

  it("a resume killed while it copies the earlier report leaves nothing that passes for a resumable report, even where one was before", async () => {
    // Run 1 killed; run 2 (--resume r1 --report R) killed too: R has its meta.
    const { j, r1 } = await killedJob();
    const R = join(dir, "again.jsonl");
    j.gate.phase("before", j.fromIndex(3 * j.c.batch));
    const p2 = j.spawn(R, ["--resume", r1]);
    await until(() => j.gate.held.length === 2, () => `held ${j.gate.held.length}; ${p2.stderr()}`);
    p2.child.kill("SIGKILL");
    await p2.exited;
    j.gate.dropHeld();
    expect(existsSync(`${R}.meta.json`)).toBe(true);
    // The same command again (`--resume r1 --report R`), killed while it copies r1's rows.
    const fifo = fifoInPlace(r1);
    try {
      j.gate.phase();
      const p3 = j.spawn(R, ["--resume", r1]);
      await until(() => statSync(R).size === 0, () => p3.stderr());
      p3.child.kill("SIGKILL");
      await p3.exited;
    } finally {
      fifo.restore();
    }
    expect(j.gate.current).toEqual([]);
    // R is empty now, and the earlier attempt's meta beside it described rows R no longer has:
    // resuming R must be refused, not send every user r1 had done again.
    const r = await resume(j, R);
    expect(j.gate.current).toEqual([]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/again\.jsonl\.meta\.json is missing/);
    // The report it names to resume from still finishes the job (R's first attempt is lost: its
    // users come back as found, none created twice).
    const again = await resume(j, r1);
    expect(again.code).toBe(1);
    await j.noResendOfDone(r1);
    const stored = j.emu.users().map((u) => String(u.UserId));
    expect(stored.length).toBe(j.valid.length);
    expect(new Set(stored)).toEqual(new Set(j.valid));
  });

  it("Ctrl-C while a resume copies the earlier report: it stops before sending, exit 3, and its report resumes", async () => {
    const { j, r1 } = await killedJob("huawei-workspace");
    // The run blocks where it reads r1's journal, after r1's rows, before its own meta.
    const fifo = fifoInPlace(`${r1}.sent`);
    const R = j.report();
    let p: Proc;
    try {
      j.gate.phase();
      p = j.spawn(R, ["--resume", r1]);
      await until(() => existsSync(R), () => p.stderr());
      p.child.kill("SIGINT");
      await until(() => /Stopping: no new rows are read/.test(p.stderr()), () => p.stderr());
      expect(existsSync(`${R}.meta.json`)).toBe(false);
      // A FIFO has no size: the reader takes its last line for torn, so one more (ignored) follows.
      await fifo.feed(p.child.pid!, "end\n");
      const e = await p.exited;
      expect(e.code, p.stderr()).toBe(3);
    } finally {
      fifo.restore();
    }
    expect(p.stderr()).toContain(`--resume ${R}`);
    expect(j.gate.current).toEqual([]);
    const carried = (await rowsOf(R)).filter((r) => SUCCESS.has(r.status)).map((r) => r.key);
    sameSet(carried, [...j.batchUsers(0), ...j.batchUsers(1)]);
    // Its journal carries r1's rows in doubt.
    const { doubt } = await j.afterKill(R);
    sameSet(doubt, [...j.batchUsers(2), ...j.batchUsers(3)]);
    const r = await resume(j, R);
    await j.noResendOfDone(R);
    await j.assertFinished(r.report, r.code);
    sameSet(j.gate.storedBefore.keys(), doubt);
  });

  it("an answer lost, then Ctrl-C while the retry waits: the row is failed with the doubt, and the resume finds the users as sent before", async () => {
    const j = await job("zego", dir);
    const r1 = j.report();
    // Request 2 reaches the vendor and its answer is lost; everything after it is held before the vendor.
    j.gate.phaseWith((_u, i) => (i < 2 ? "pass" : i === 2 ? "lose" : "before"));
    const p = j.spawn(r1, ["--grace", "200", "--backoff-base", "20000", "--json"]);
    await until(() => j.gate.lost.length === 1 && j.gate.held.length >= 1, () => `lost ${j.gate.lost.length} held ${j.gate.held.length}; ${p.stderr()}`);
    p.child.kill("SIGINT");
    const e = await p.exited;
    expect(e.code, p.stderr()).toBe(3);
    j.gate.dropHeld();
    const { doubt, rows } = await j.afterKill(r1);
    const lost = j.gate.lost[0]!;
    for (const u of lost) expect(doubt.has(u)).toBe(true);
    const lostRows = rows.filter((x) => lost.includes(x.key) && j.lineOf.get(x.key) === x.line);
    // Sent, so reported (not left among the rows never sent).
    expect(lostRows).toHaveLength(lost.length);
    for (const r of lostRows) {
      // Stopped in its backoff (STOPPED) or, had the retry gone out already, cancelled at the grace's end.
      expect(r).toMatchObject({ status: "failed", retryable: true });
      expect(["STOPPED", "CANCELLED"]).toContain(r.code);
      expect(r.message).toContain(MAYBE_CREATED);
    }
    const r = await resume(j, r1);
    await j.noResendOfDone(r1);
    await j.assertFinished(r.report, r.code);
    sameSet(j.gate.storedBefore.keys(), lost);
  });

  it("Ctrl-C held down (five in a row) with answers held: exit 3 with the summary, rows CANCELLED, then resumed", async () => {
    const j = await job("imkit", dir);
    const r1 = j.report();
    j.gate.phase("after", j.fromIndex(2 * j.c.batch));
    const p = j.spawn(r1, ["--grace", "60000", "--json"]);
    await until(() => j.gate.held.length === 2, () => `held ${j.gate.held.length}; ${p.stderr()}`);
    // Signals sent at once merge into one pending signal: the first is seen, then the rest come as a held key repeats.
    p.child.kill("SIGINT");
    await until(() => /Stopping: no new rows are read/.test(p.stderr()), () => p.stderr());
    for (let i = 0; i < 4; i++) p.child.kill("SIGINT");
    const e = await p.exited;
    expect(e, p.stderr()).toEqual({ code: 3, signal: null });
    expect(JSON.parse(p.stdout())).toMatchObject({ stopped: "interrupted" });
    j.gate.dropHeld();
    const { doubt, rows } = await j.afterKill(r1);
    sameSet(doubt, [...j.batchUsers(2), ...j.batchUsers(3)]);
    for (const r of rows.filter((x) => doubt.has(x.key) && j.lineOf.get(x.key) === x.line)) expect(r).toMatchObject({ status: "failed", code: "CANCELLED" });
    // The journal is the owner's only.
    expect(statSync(`${r1}.sent`).mode & 0o077).toBe(0);
    const r = await resume(j, r1);
    await j.noResendOfDone(r1);
    await j.assertFinished(r.report, r.code);
    // IMKIT upserts: the users in flight were sent again (counted), once each.
    sameSet(j.gate.storedBefore.keys(), doubt);
    expect([...j.gate.storedBefore.values()].every((v) => v === 1)).toBe(true);
  });
});
