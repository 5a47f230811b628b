/**
 * The project's own conformance vectors (test/fixtures/vectors/, see make_vectors.py): chains and
 * packs written by acttrace and by an independent Python writer, with floats, escapes, unicode
 * keys, signed and unsigned logs, sealed and unsealed packs, and a copy for every class of
 * tampering in FORMAT part C. Each case names the verdict FORMAT requires (the error tag with its
 * line and seq, or ok with the count, head, signatures and completeness basis) and gets it:
 *
 * - through the library, four ways (the file fold, the same in small chunks, `Verify.lines`
 *   without the fast paths, and `fileParallel` across threads);
 * - through the CLI's code in this process (every case) and through the built executable
 *   (`bin/acttrace.js`: one case of each kind of verdict here, every case in `npm run test:long`);
 * - through test/fixtures/verify_pack.py, a checker written from FORMAT part A, where it applies.
 *
 * They need nothing beside the repository: a clone without ../shared runs all of this.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Verify from "../src/Verify.js"
import { cliInProcess } from "./cli-in-process.js"
import { executableSample, expectExecutable, linesOf, type Said } from "./conformance-helpers.js"
import { LONG, ROOT } from "./helpers.js"

const VECTORS = join(ROOT, "test/fixtures/vectors")


/** A case of cases.json: the file, how to verify it, and (as a `Said`) the verdict FORMAT requires. */
interface Case extends Said {
  readonly id: number
  readonly name: string
  readonly file: string
  readonly key: string | null
  readonly expected_head?: string
  readonly expect_entries?: number
  readonly require_complete?: boolean
  /** what verify_pack.py says, checking with the key (or as unsigned when there is none) */
  readonly python?: "ok" | "fail"
}

const doc = JSON.parse(readFileSync(join(VECTORS, "cases.json"), "utf8")) as { files: Array<string>; cases: Array<Case> }
const cases = doc.cases
const label = (c: Case) => `#${c.id} ${c.name} [${c.file}${c.key === null ? "" : " --key"}] -> ${c.verdict}`
const optionsOf = (c: Case): Verify.Options => ({
  key: c.key === null ? undefined : Redacted.make(c.key),
  expectedHead: c.expected_head,
  expectedEntries: c.expect_entries,
  requireComplete: c.require_complete
})

const expected = (c: Case): Said =>
  c.verdict === "ok"
    ? { verdict: "ok", entries: c.entries!, head: c.head!, signatures: c.signatures!, completeness: c.completeness! }
    : { verdict: c.verdict, line: c.line!, seq: c.seq! }

const saidBy = (r: Either.Either<Verify.Report, Verify.VerifyError>): Said =>
  Either.isRight(r)
    ? { verdict: "ok", entries: r.right.entries, head: r.right.head, signatures: r.right.signatures, completeness: r.right.completeness }
    : { verdict: r.left._tag, line: r.left.line, seq: r.left.seq }

const run = <A>(e: Effect.Effect<A, never, FileSystem.FileSystem>) => Effect.runPromise(Effect.provide(e, NodeFileSystem.layer))

describe("own conformance vectors: the material", () => {
  it("holds exactly the files cases.json names, each checked by a case", () => {
    // (checkpoints/ holds the public-key vectors: test/own-conformance-checkpoints.test.ts)
    const onDisk = (dir: string): Array<string> =>
      readdirSync(dir).flatMap((n) => {
        const path = join(dir, n)
        if (path === join(VECTORS, "checkpoints")) return []
        return statSync(path).isDirectory() ? onDisk(path) : [relative(VECTORS, path)]
      })
    const vectors = onDisk(VECTORS).filter((f) => f.endsWith(".jsonl")).sort()
    expect(vectors).toEqual([...doc.files].sort())
    expect(new Set(cases.map((c) => c.file))).toEqual(new Set(doc.files))
  })

  it("covers every verdict of FORMAT part C, both writers, and every completeness basis of an HMAC pack", () => {
    const tags = new Set(cases.map((c) => c.verdict))
    // (Unreadable is a file that cannot be opened: test/bad-input.test.ts)
    for (const t of ["ok", "MalformedLine", "EditDetected", "ReorderDetected", "DeletionDetected", "TruncationDetected", "SignatureInvalid", "HeaderInvalid"]) {
      expect(tags, t).toContain(t)
    }
    const bases = new Set(cases.filter((c) => c.verdict === "ok").map((c) => c.completeness))
    for (const b of ["expected-head", "signed-header", "unsigned-header", "none"]) expect(bases, b).toContain(b)
    const signatures = new Set(cases.filter((c) => c.verdict === "ok").map((c) => c.signatures))
    for (const s of ["verified", "absent", "not-checked"]) expect(signatures, s).toContain(s)
    for (const writer of ["py/", "ours/", "tampered/py-", "tampered/ours-"]) expect(cases.some((c) => c.file.startsWith(writer)), writer).toBe(true)
    // every tampering applied to the packs of both writers
    const kinds = (prefix: string) => new Set(cases.filter((c) => c.file.startsWith(prefix)).map((c) => c.file.slice(prefix.length)))
    expect(kinds("tampered/ours-pack.")).toEqual(kinds("tampered/py-pack."))
    expect(cases.length).toBeGreaterThan(250)
  })
})

describe("own conformance vectors through the library", () => {
  it.each(cases)("$id $name", async (c) => {
    const path = join(VECTORS, c.file)
    const options = optionsOf(c)
    const want = expected(c)
    const whole = await run(Verify.fileOutcome(path, options))
    expect(saidBy(whole.result), label(c)).toEqual(want)
    // the same fold over small reads (lines cut across chunks), and line by line without the
    // fast paths: the same verdict every way
    const small = await run(Verify.fileOutcome(path, { ...options, chunkSize: 61 }))
    expect(saidBy(small.result), `${label(c)} (61-byte chunks)`).toEqual(want)
    expect(saidBy(Verify.lines(linesOf(path), { ...options, fastPath: false })), `${label(c)} (lines, no fast path)`).toEqual(want)
  })

  it("fileParallel across three threads gives every verdict the one-thread fold gives", async () => {
    // (workers need the build: dist/verify-worker.bundle.js; a sealed pack is read on one thread)
    for (const c of cases) {
      const o = await run(Verify.fileParallel(join(VECTORS, c.file), { ...optionsOf(c), threads: 3 }))
      expect(saidBy(o.result), `${label(c)} (3 threads)`).toEqual(expected(c))
    }
  })
})

// ---------------------------------------------------------------------------------------------
// the CLI

const argsOf = (c: Case): Array<string> => {
  const args = ["verify", join(VECTORS, c.file), "--json"]
  if (c.key !== null) args.push("--key", c.key)
  if (c.expected_head !== undefined) args.push("--expected-head", c.expected_head)
  if (c.expect_entries !== undefined) args.push("--expect-entries", String(c.expect_entries))
  if (c.require_complete === true) args.push("--require-complete")
  return args
}

/** What `--json` and the exit code say, in the words of the cases file. */
const saidByCli = (code: number | null, stdout: string): Said & { readonly code: number | null } => {
  const out = JSON.parse(stdout) as { ok: boolean; entries: number; head: string; signatures: string; completeness: string; error?: { _tag: string; line: number; seq: number | null } }
  return out.ok
    ? { code, verdict: "ok", entries: out.entries, head: out.head, signatures: out.signatures, completeness: out.completeness }
    : { code, verdict: out.error!._tag, line: out.error!.line, seq: out.error!.seq }
}

const withCode = (c: Case) => ({ ...expected(c), code: c.verdict === "ok" ? 0 : 1 })

describe("own conformance vectors through the CLI", () => {
  // a key in the environment would be taken for a missing --key
  delete process.env["ACTTRACE_KEY"]

  it.each(cases)("in process: $id $name", async (c) => {
    const r = await cliInProcess(argsOf(c))
    expect(saidByCli(r.code, r.stdout), `${label(c)}\n${r.stderr}`).toEqual(withCode(c))
  })

  // The executable adds only its wiring (bin, bundle, arguments, exit code) to the code above:
  // one case of each kind (verdict, with a key or without) goes through it; every case in the
  // long form (ACTTRACE_LONG=1, `npm run test:long`).
  const sample = executableSample(cases, (c) => [c.verdict, c.key === null].join())

  it(`the built executable: ${sample.length} cases${LONG ? "" : " (one of each kind; all under ACTTRACE_LONG=1)"}`, async () => {
    await expectExecutable(sample, argsOf, saidByCli, withCode, label)
  }, LONG ? 1_800_000 : 120_000)
})

// ---------------------------------------------------------------------------------------------
// Python: the checker written from FORMAT part A, and the writer that made the vectors

const python = spawnSync("python3", ["--version"], { encoding: "utf8" })
const hasPython = python.status === 0
if (!hasPython && process.env["CI"] === "true") throw new Error("CI=true but python3 is missing")
if (!hasPython) console.warn("SKIPPED: python3 not found; the own-conformance checks through Python need it (the library and CLI checks ran)")

describe.skipIf(!hasPython)("own conformance vectors through Python", () => {
  const scratch = mkdtempSync(join(tmpdir(), "acttrace-vectors-"))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it("verify_pack.py (FORMAT part A) says ok or fail as each case expects", () => {
    const checked = cases.filter((c) => c.python !== undefined)
    expect(checked.length).toBeGreaterThan(100)
    const input = checked.map((c) => JSON.stringify([join(VECTORS, c.file), c.key ?? ""])).join("\n") + "\n"
    const r = spawnSync("python3", [join(ROOT, "test/fixtures/verify_pack.py"), "--batch"], { input, encoding: "utf8" })
    expect(r.stderr).toBe("")
    const verdicts = r.stdout.trimEnd().split("\n")
    expect(verdicts).toHaveLength(checked.length)
    checked.forEach((c, i) => {
      const v = verdicts[i]!
      expect(v.startsWith("ok") ? "ok" : "fail", `${label(c)}: ${v}`).toBe(c.python)
      if (c.python === "ok" && c.verdict === "ok") expect(v, label(c)).toBe(`ok ${c.entries} ${c.head}`)
    })
  })

  it("make_vectors.py writes exactly the committed vectors (they are its output, untouched)", () => {
    const r = spawnSync("python3", [join(VECTORS, "make_vectors.py"), scratch], { encoding: "utf8" })
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    const written = (dir: string): Array<string> =>
      readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? written(join(dir, n)) : [relative(scratch, join(dir, n))]))
    const files = written(scratch).sort()
    expect(files).toEqual([...doc.files.filter((f) => !f.startsWith("ours/")), "cases.json"].sort())
    for (const f of files) expect(readFileSync(join(scratch, f)).equals(readFileSync(join(VECTORS, f))), f).toBe(true)
  })
})
