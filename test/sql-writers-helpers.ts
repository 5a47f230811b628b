/**
 * What the shared-chain process tests (sql-writers*.test.ts) share: writer processes
 * (test/fixtures/sql-writer.mjs, on the built library) and their acknowledgements, the rows a
 * chain holds as read straight from its tables, and a verification of a chain from its database
 * through the library.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { ROOT } from "./helpers.js"

export const WRITER = join(ROOT, "test/fixtures/sql-writer.mjs")

/** What sql-writer.mjs is given (see the fixture). */
export interface WriterConfig {
  readonly url: string
  readonly chain: string
  readonly key: string
  readonly id: string
  readonly prefix?: string | undefined
  readonly system?: string | undefined
  readonly count?: number | undefined
  readonly batch?: number | undefined
  readonly inFlight?: number | undefined
  readonly wait?: boolean | undefined
  readonly pauseAt?: number | undefined
  readonly clock?: string | undefined
  readonly entries?: ReadonlyArray<{ readonly type: string; readonly payload: Record<string, unknown> }> | undefined
  readonly signerKey?: string | undefined
  readonly checkpointEvery?: number | undefined
}

export interface Ack {
  readonly seq: number
  readonly hash: string
}

/** What a writer process said, by the end of its run. */
export interface WriterResult {
  readonly id: string
  readonly acks: ReadonlyArray<Ack>
  /** the chain as the writer found it when it opened (its view) */
  readonly opened: { readonly entries: number; readonly head: string } | undefined
  /** "done": acknowledged, milliseconds from opened to done */
  readonly done: { readonly acked: number; readonly millis: number } | undefined
  /** anything it printed that is not part of the protocol (errors first of all), and its stderr */
  readonly errors: ReadonlyArray<string>
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/**
 * A running sql-writer.mjs. Its whole stdout lines are parsed as they come (a line cut by a kill
 * was never fully acknowledged and is not counted); `until(word)` waits for a protocol line.
 */
export class Writer {
  readonly child: ChildProcessWithoutNullStreams
  readonly acks: Array<Ack> = []
  readonly errors: Array<string> = []
  opened: { entries: number; head: string } | undefined
  done: { acked: number; millis: number } | undefined
  private readonly seen = new Set<string>()
  private readonly waiters: Array<{ word: string; ok: () => void; fail: (e: Error) => void }> = []
  readonly exited: Promise<WriterResult>

  constructor(readonly config: WriterConfig) {
    this.child = spawn(process.execPath, [WRITER, JSON.stringify(config)], { stdio: ["pipe", "pipe", "pipe"] })
    let buffered = ""
    this.child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString()
      let at: number
      while ((at = buffered.indexOf("\n")) >= 0) {
        this.line(buffered.slice(0, at))
        buffered = buffered.slice(at + 1)
      }
    })
    let stderr = ""
    this.child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    // writing "go" to a writer that has just died must not throw in the test process
    this.child.stdin.on("error", () => {})
    this.exited = new Promise((ok) => {
      this.child.on("close", (code, signal) => {
        if (stderr.trim() !== "") this.errors.push(`stderr: ${stderr.trim()}`)
        for (const w of this.waiters.splice(0)) {
          w.fail(new Error(`writer ${config.id} exited (${code ?? signal}) before "${w.word}": ${this.errors.join(" | ")}`))
        }
        ok({ id: config.id, acks: this.acks, opened: this.opened, done: this.done, errors: this.errors, code, signal })
      })
    })
  }

  private line(line: string) {
    const ack = /^ack (\d+) ([0-9a-f]{64})$/.exec(line)
    if (ack !== null) {
      this.acks.push({ seq: Number(ack[1]), hash: ack[2]! })
      return
    }
    const opened = /^opened (\d+) ([0-9a-f]{64})$/.exec(line)
    const done = /^done (\d+) (\d+)$/.exec(line)
    if (opened !== null) this.opened = { entries: Number(opened[1]), head: opened[2]! }
    else if (done !== null) this.done = { acked: Number(done[1]), millis: Number(done[2]) }
    else if (line !== "connected" && line !== "paused") this.errors.push(line)
    const word = line.split(" ")[0]!
    this.seen.add(word)
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.word === word) this.waiters.splice(i, 1)[0]!.ok()
    }
  }

  /** Wait until the writer has printed a line starting with `word` (now or before). */
  until(word: "connected" | "opened" | "paused" | "done"): Promise<void> {
    if (this.seen.has(word)) return Promise.resolve()
    return new Promise((ok, fail) => this.waiters.push({ word, ok, fail }))
  }

  go(): void {
    this.child.stdin.write("go\n")
  }

  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<WriterResult> {
    this.child.kill("SIGKILL")
    return this.exited
  }
}

/** A row of a chain's entries table. */
export interface Row {
  readonly seq: number
  readonly type: string | null
  readonly hash: string | null
  readonly decision_id: string | null
  readonly line: string
}

/** The chain's rows in seq order, and its chain row, read straight from the tables. */
export const readChain = (prefix: string, chain: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ seq: string | number; type: string | null; hash: string | null; decision_id: string | null; line: string }>`
      SELECT seq, type, hash, decision_id, line FROM ${sql(`${prefix}_entries`)} WHERE chain = ${chain} ORDER BY seq`
    const heads = yield* sql<{ head: string; entries: string | number }>`SELECT head, entries FROM ${sql(`${prefix}_chains`)} WHERE chain = ${chain}`
    return {
      rows: rows.map((r): Row => ({ ...r, seq: Number(r.seq) })),
      head: heads[0]?.head,
      entries: heads[0] === undefined ? undefined : Number(heads[0].entries)
    }
  })

/**
 * Verify a chain from its database through the library: the store's snapshot, streamed in seq
 * order through the verification fold files go through. The report, or the error as a failure.
 */
export const verifyDb = (url: string, chain: string, key: string, prefix?: string) =>
  Effect.gen(function* () {
    const store = yield* Store.Store
    const bytes = yield* store.snapshot
    return yield* Verify.stream(bytes, { key: Redacted.make(key) }).pipe(Effect.either)
  }).pipe(
    Effect.provide(Store.layerSqlUrl(url, { chain, create: false, ...(prefix === undefined ? {} : { tablePrefix: prefix }) })),
    Effect.scoped,
    Effect.flatMap(Either.match({ onLeft: (e) => Effect.fail(new Error(`${chain}: ${e._tag}: ${e.message}`)), onRight: Effect.succeed })),
    Effect.runPromise
  )

/**
 * The checks every shared-chain test makes of a chain's rows: seq 0..n-1 without a gap, exactly
 * one audit_open (at seq 0), every row's hash and the chain row's head and count agreeing with
 * the rows, and every acknowledged entry present at its seq with its hash. Returns a list of
 * what is wrong (empty when all holds), so a failure says everything at once.
 */
export const chainProblems = (
  read: { readonly rows: ReadonlyArray<Row>; readonly head: string | undefined; readonly entries: number | undefined },
  acks: ReadonlyArray<Ack>
): Array<string> => {
  const problems: Array<string> = []
  const { rows } = read
  const gaps = rows.filter((r, i) => r.seq !== i)
  if (gaps.length > 0) problems.push(`${gaps.length} rows out of place, first seq ${gaps[0]!.seq} at position ${rows.indexOf(gaps[0]!)}`)
  const opens = rows.filter((r) => r.type === "audit_open").map((r) => r.seq)
  if (opens.length !== 1 || opens[0] !== 0) problems.push(`audit_open at seqs [${opens.join(", ")}], expected exactly [0]`)
  if (read.entries !== rows.length) problems.push(`chain row says ${read.entries} entries, the table holds ${rows.length}`)
  const last = rows[rows.length - 1]
  if (last !== undefined && read.head !== last.hash) problems.push(`chain row head ${read.head}, last row's hash ${last.hash}`)
  for (const r of rows) {
    const parsed = JSON.parse(r.line) as { seq?: unknown; hash?: unknown }
    if (parsed.seq !== r.seq || parsed.hash !== r.hash) {
      problems.push(`row ${r.seq}: its line says seq ${String(parsed.seq)} hash ${String(parsed.hash)}, its columns seq ${r.seq} hash ${r.hash}`)
      break
    }
  }
  const lost = acks.filter((a) => rows[a.seq]?.hash !== a.hash)
  if (lost.length > 0) problems.push(`${lost.length} acknowledged entries not in the table as acknowledged, first ${JSON.stringify(lost[0])}`)
  const twice = acks.length - new Set(acks.map((a) => a.seq)).size
  if (twice > 0) problems.push(`${twice} seqs acknowledged to more than one writer`)
  return problems
}

/**
 * The local TCP ports of process `pid`'s open sockets (Linux, from /proc): with PostgreSQL's
 * `pg_stat_activity.client_port` they name that process's database sessions, whatever its
 * queries say. Undefined where /proc cannot tell.
 */
export const socketPorts = (pid: number): ReadonlyArray<number> | undefined => {
  try {
    const inodes = new Set<string>()
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m !== null) inodes.add(m[1]!)
      } catch {
        // closed meanwhile
      }
    }
    const ports: Array<number> = []
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      let text = ""
      try {
        text = readFileSync(table, "utf8")
      } catch {
        continue
      }
      for (const line of text.split("\n").slice(1)) {
        const f = line.trim().split(/\s+/)
        if (f.length > 9 && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(":")[1]!, 16))
      }
    }
    return ports
  } catch {
    return undefined
  }
}
