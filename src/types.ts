/** One record as read from an input file, before mapping. */
export interface SourceRecord {
  /** Input path as given on the command line (`-` for standard input). */
  file: string;
  /** Position of the file among the inputs of one run. */
  fileIndex: number;
  /** 1-based line on which the record starts. */
  line: number;
  /**
   * The record's cells (CSV, keyed by header) or object (JSONL). A JSONL file read in the parse
   * thread gives only the columns the mapping reads (see `raw`).
   */
  data: Record<string, unknown>;
  /** JSONL: the line as read, when the parse thread was asked to keep it (`data` is then partial). */
  raw?: string;
  /** Set when the reader could not make a usable record of this line. */
  error?: { code: string; message: string };
}

/** A record after mapping: provider field name → value. */
export type MappedUser = Record<string, unknown>;

export type SuccessStatus = "created" | "updated" | "upserted" | "exists";
export type Status = SuccessStatus | "invalid" | "duplicate" | "failed" | "valid";

export const SUCCESS_STATUSES: ReadonlySet<string> = new Set<SuccessStatus>([
  "created",
  "updated",
  "upserted",
  "exists",
]);

/** One line of the report: the final outcome of one input record. */
export interface ReportRow {
  file: string;
  line: number;
  key: string;
  status: Status;
  code?: string;
  message?: string;
  field?: string;
  /** The vendor's own id for the user, when the vendor returns one. */
  id?: string;
  /** Requests this record took part in. */
  attempts?: number;
  /** For `failed`: whether a later run (or `--resume`) may succeed. */
  retryable?: boolean;
  /** For rows that were sent: ms from the start of the run to the answer (throughput charts). */
  t?: number;
}
