/**
 * The project's own public-key conformance vectors (test/fixtures/vectors/checkpoints/, written by
 * write-checkpoints.mjs with fixed test keys and a fixed clock): checkpointed logs and packs, an
 * Ed25519-only pack, a rotated log, a later export, a fork, a proof file, a consistency document,
 * and a tampered copy for each verdict public keys add. checkpoint-cases.json states the verdict
 * each must get under `publicKeys` (and `since`), and each gets it:
 *
 * - through the library three ways: `Verify.file`, `Verify.stream` over 61-byte chunks, and the
 *   fold line by line without the fast paths (`fastPath: false`);
 * - through the CLI's code in this process (every case), and the built executable (`--pubkey`,
 *   `--since`, `--json`) for one case of each verdict;
 * - the documents through `Proof.verifyProof`, `Proof.verifyConsistencyDocument` and the built
 *   `acttrace verify-proof`;
 * - through check_checkpoints.py, written from FORMAT B.2–B.3 and RFC 9162 alone (trees, roots,
 *   checkpoint bodies, the seal digest, inclusion and consistency proofs; not Ed25519).
 *
 * The committed files are exactly what the generator writes (it runs again here, into a scratch
 * directory): a clone without ../shared holds the wire format of public-key evidence.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Proof from "../src/Proof.js"
import * as Verify from "../src/Verify.js"
import { cliInProcess } from "./cli-in-process.js"
import { type Said as BaseSaid, executableSample, expectExecutable, linesOf } from "./conformance-helpers.js"
import { cliAsync, LONG, ROOT } from "./helpers.js"

const VECTORS = join(ROOT, "test/fixtures/vectors")
const DIR = join(VECTORS, "checkpoints")

/** What a verdict says, in the words of the cases file (and of `--json`), with what public keys add. */
interface Said extends BaseSaid {
  readonly checkpoints?: string
  readonly checkpoint_count?: number
  readonly unsealed_tail?: number
  readonly published_size?: number
  readonly first_differing?: number | null
}

interface Case extends Said {
  readonly id: number
  readonly name: string
  readonly file: string
  /** the HMAC passphrase, when the case checks entry signatures too */
  readonly key: string | null
  /** verifier key files (relative to checkpoints/): the trusted set */
  readonly public_keys: ReadonlyArray<string>
  /** a published checkpoint: a note file, or a pack whose latest checkpoint it is */
  readonly since?: string
  readonly require_complete?: boolean
  /** what the CLI says instead, where it knows more (`--since PACK` names the first differing entry) */
  readonly cli?: Said
  /** a verdict that differs from design 13: the reason (the expectation stays the design's) */
  readonly skip?: string
}

interface Doc {
  readonly hmac_key: string
  readonly cases: ReadonlyArray<Case>
  readonly documents: {
    readonly proof: { readonly file: string; readonly public_keys: ReadonlyArray<string>; readonly size: number; readonly proven: ReadonlyArray<number> }
    readonly consistency: { readonly file: string; readonly public_keys: ReadonlyArray<string>; readonly old_size: number; readonly new_size: number }
    readonly fork: { readonly old: string; readonly new: string; readonly first_differing: number }
  }
}

const doc = JSON.parse(readFileSync(join(DIR, "checkpoint-cases.json"), "utf8")) as Doc
const cases = doc.cases
const text = (file: string) => readFileSync(join(DIR, file), "utf8")
/** the key files' texts as they are (Verify takes a key file's one trailing newline) */
const keysOf = (files: ReadonlyArray<string>) => files.map(text)
/** the key texts without the file's trailing newline (Proof takes only the bare key text) */
const bareKeysOf = (files: ReadonlyArray<string>) => files.map((f) => text(f).replace(/\n$/, ""))
const label = (c: Case) => `#${c.id} ${c.name} [${c.file}] -> ${c.verdict}`

const run = <A, E>(e: Effect.Effect<A, E, any>) => Effect.runPromise(Effect.provide(e, NodeFileSystem.layer) as Effect.Effect<A, E>)

/** The published note of a case: a note file as it is, or a pack's latest checkpoint. */
const sinceOf = async (c: Case): Promise<string | undefined> =>
  c.since === undefined ? undefined : c.since.endsWith(".note") ? text(c.since) : (await Effect.runPromise(Proof.latestCheckpoint(text(c.since)))).note

const optionsOf = async (c: Case): Promise<Verify.Options> => ({
  key: c.key === null ? undefined : Redacted.make(c.key),
  publicKeys: keysOf(c.public_keys),
  since: await sinceOf(c),
  requireComplete: c.require_complete
})

const expected = (c: Case): Said =>
  c.verdict === "ok"
    ? {
      verdict: "ok",
      entries: c.entries!,
      head: c.head!,
      signatures: c.signatures!,
      completeness: c.completeness!,
      checkpoints: c.checkpoints!,
      checkpoint_count: c.checkpoint_count!,
      unsealed_tail: c.unsealed_tail!
    }
    : c.verdict === "HistoryRewritten"
    ? { verdict: c.verdict, line: c.line!, seq: c.seq!, published_size: c.published_size!, first_differing: c.first_differing ?? null }
    : { verdict: c.verdict, line: c.line!, seq: c.seq! }

const saidBy = (r: Either.Either<Verify.Report, Verify.VerifyError>): Said => {
  if (Either.isRight(r)) {
    const v = r.right
    return {
      verdict: "ok",
      entries: v.entries,
      head: v.head,
      signatures: v.signatures,
      completeness: v.completeness,
      checkpoints: v.checkpoints,
      checkpoint_count: v.checkpointCount,
      unsealed_tail: v.unsealedTail
    }
  }
  const e = r.left
  return e._tag === "HistoryRewritten"
    ? { verdict: e._tag, line: e.line, seq: e.seq, published_size: e.publishedSize, first_differing: e.firstDiffering ?? null }
    : { verdict: e._tag, line: e.line, seq: e.seq }
}

const chunks = (path: string, size: number): Stream.Stream<Uint8Array> => {
  const bytes = readFileSync(path)
  const out: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size))
  return Stream.fromIterable(out)
}

const onDisk = (root: string, dir: string = root): Array<string> =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? onDisk(root, join(dir, n)) : [relative(root, join(dir, n))]))

describe("checkpoint vectors: the material", () => {
  it("every log and pack there is checked by a case, and every verdict public keys add is covered", () => {
    const files = onDisk(DIR).filter((f) => f.endsWith(".jsonl")).sort()
    expect(new Set(cases.map((c) => c.file))).toEqual(new Set(files))
    const tags = new Set(cases.map((c) => c.verdict))
    for (const t of ["ok", "CheckpointInvalid", "CheckpointUntrusted", "HistoryRewritten", "HeaderInvalid", "TruncationDetected"]) expect(tags, t).toContain(t)
    const ok = cases.filter((c) => c.verdict === "ok")
    expect(new Set(ok.map((c) => c.completeness))).toEqual(new Set(["signed-checkpoint", "none"]))
    expect(ok.every((c) => c.checkpoints === "verified")).toBe(true)
    expect(ok.some((c) => c.unsealed_tail! > 0), "an unsealed tail").toBe(true)
    expect(ok.some((c) => c.since !== undefined), "since").toBe(true)
    expect(new Set(ok.map((c) => c.signatures))).toEqual(new Set(["verified", "not-checked", "absent"]))
  })

  it("the keys are the public test keys the README names, and the log's key is the one its audit_open states", () => {
    expect(text("keys/README.md")).toMatch(/PUBLIC TEST KEYS/)
    for (const name of ["vectors-a", "vectors-b", "vectors-stranger"]) {
      expect(text(`keys/${name}.pub`)).toMatch(new RegExp(`^${name}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]{44}\\n$`))
      expect(text(`keys/${name}.key`)).toMatch(new RegExp(`^PRIVATE\\+KEY\\+${name}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]{44}\\n$`))
    }
    const open = JSON.parse(text("log.jsonl").split("\n")[0]!) as { payload: { checkpoints: { key: string } } }
    expect(open.payload.checkpoints.key + "\n").toBe(text("keys/vectors-a.pub"))
  })
})

describe("checkpoint vectors through the library", () => {
  for (const c of cases) {
    const test = c.skip === undefined ? it : it.skip
    test(`${c.id} ${c.name}${c.skip === undefined ? "" : ` (skipped: ${c.skip})`}`, async () => {
      const path = join(DIR, c.file)
      const options = await optionsOf(c)
      const want = expected(c)
      const whole = await run(Effect.either(Verify.file(path, options)))
      expect(saidBy(whole), label(c)).toEqual(want)
      const small = await Effect.runPromise(Effect.either(Verify.stream(chunks(path, 61), options)))
      expect(saidBy(small), `${label(c)} (61-byte chunks)`).toEqual(want)
      expect(saidBy(Verify.lines(linesOf(path), { ...options, fastPath: false })), `${label(c)} (lines, no fast path)`).toEqual(want)
    })
  }

  it("a failing case reports the same entries, head and signatures on the batched path as line by line (format.md §11: the last entry that verified)", async () => {
    const failing = cases.filter((c) => c.skip === undefined && c.verdict !== "ok")
    expect(failing.length).toBeGreaterThan(5)
    for (const c of failing) {
      const path = join(DIR, c.file)
      const options = await optionsOf(c)
      const held = (o: Verify.Outcome) => ({ entries: o.entries, head: o.head, signatures: o.signatures, failed: Either.isLeft(o.result) })
      const batched = held(await run(Verify.fileOutcome(path, options)))
      const oneByOne = held(await Effect.runPromise(Verify.streamOutcome(chunks(path, 61), { ...options, fastPath: false })))
      expect(batched, label(c)).toEqual(oneByOne)
      expect(batched.failed, label(c)).toBe(true)
    }
  })

  it("the last checkpoint a pack's report names is its _meta.checkpoint (the published note)", async () => {
    const r = await run(Verify.file(join(DIR, "pack.jsonl"), { publicKeys: keysOf(["keys/vectors-a.pub"]) }))
    const last = Option.getOrThrow(r.lastCheckpoint)
    expect(last.note).toBe(text("pack.note"))
    expect(last.size).toBe(r.entries)
  })
})

// ---------------------------------------------------------------------------------------------
// the CLI

const argsOf = (c: Case): Array<string> => {
  const args = ["verify", join(DIR, c.file), "--json"]
  if (c.key !== null) args.push("--key", c.key)
  for (const k of c.public_keys) args.push("--pubkey", join(DIR, k))
  if (c.since !== undefined) args.push("--since", join(DIR, c.since))
  if (c.require_complete === true) args.push("--require-complete")
  return args
}

const saidByCli = (code: number | null, stdout: string): Said & { readonly code: number | null } => {
  const out = JSON.parse(stdout) as {
    ok: boolean
    entries: number
    head: string
    signatures: string
    completeness: string
    checkpoints: string
    checkpoint_count: number
    unsealed_tail: number
    error?: { _tag: string; line: number; seq: number | null; published_size?: number; first_differing?: number | null }
  }
  if (out.ok) {
    return {
      code,
      verdict: "ok",
      entries: out.entries,
      head: out.head,
      signatures: out.signatures,
      completeness: out.completeness,
      checkpoints: out.checkpoints,
      checkpoint_count: out.checkpoint_count,
      unsealed_tail: out.unsealed_tail
    }
  }
  const e = out.error!
  return e._tag === "HistoryRewritten"
    ? { code, verdict: e._tag, line: e.line, seq: e.seq, published_size: e.published_size!, first_differing: e.first_differing ?? null }
    : { code, verdict: e._tag, line: e.line, seq: e.seq }
}

const cliExpected = (c: Case) => {
  const base = expected(c)
  const said = c.cli === undefined ? base : { ...base, ...c.cli }
  return { ...said, code: said.verdict === "ok" ? 0 : 1 }
}

describe("checkpoint vectors through the CLI", () => {
  delete process.env["ACTTRACE_KEY"]

  for (const c of cases) {
    const test = c.skip === undefined ? it : it.skip
    test(`in process: ${c.id} ${c.name}`, async () => {
      const r = await cliInProcess(argsOf(c))
      expect(saidByCli(r.code, r.stdout), `${label(c)}\n${r.stderr}`).toEqual(cliExpected(c))
    })
  }

  // one case of each verdict through the executable (and the one where the CLI says more than
  // the library: --since PACK); every case under ACTTRACE_LONG=1
  const sample = executableSample(cases, (c) => (c.skip !== undefined ? undefined : c.cli === undefined ? c.verdict : `${c.verdict} (cli)`))

  it(`the built executable: ${sample.length} cases${LONG ? "" : " (one of each verdict; all under ACTTRACE_LONG=1)"}`, async () => {
    await expectExecutable(sample, argsOf, saidByCli, cliExpected, label)
  }, LONG ? 600_000 : 120_000)
})

// ---------------------------------------------------------------------------------------------
// the documents

describe("checkpoint vectors: the proof file and the consistency document", () => {
  const { consistency, fork, proof } = doc.documents

  it("the proof file verifies alone: the chosen entries, in the tree of the pack's signed checkpoint", async () => {
    const p = await Effect.runPromise(Proof.verifyProof(text(proof.file), { publicKeys: bareKeysOf(proof.public_keys) }))
    expect(p.size).toBe(proof.size)
    expect(p.entries.map((e) => e.seq)).toEqual(proof.proven)
    expect(p.checkpoint.note).toBe(text("pack.note"))
    // the proven entries are the pack's own, byte for byte in what the hash covers
    const rows = text("pack.jsonl").split("\n").slice(1).filter((l) => l.length > 0).map((l) => JSON.parse(l) as { seq: number; hash: string })
    for (const e of p.entries) expect(e.hash).toBe(rows[e.seq]!.hash)
  })

  it("the proof file is refused edited, for another tree size, or under a key that did not sign it", async () => {
    const original = text(proof.file)
    const fail = async (t: string, keys = bareKeysOf(proof.public_keys)) => {
      const r = await Effect.runPromise(Effect.either(Proof.verifyProof(t, { publicKeys: keys })))
      return Either.isLeft(r) ? r.left._tag : "proven"
    }
    const edited = (from: string, to: string) => {
      expect(original, from).toContain(from)
      return original.replace(from, to)
    }
    expect(await fail(edited(`"text":"step 2 é ✓"`, `"text":"step 2 e ✓"`))).toBe("EntryNotProven")
    expect(await fail(edited(`"size":${proof.size},`, `"size":${proof.size + 1},`))).toBe("ProofMalformed")
    expect(await fail(original, bareKeysOf(["keys/vectors-stranger.pub"]))).toBe("NoteUntrusted")
    expect(await fail(original)).toBe("proven")
  })

  // Verify takes a verifier key file's text as it is (one trailing newline allowed, design 13:
  // "readers strip exactly one trailing \n"); Proof refuses the same text with "the key is not
  // canonical standard base64". Expected: the same key text works for both.
  it("Proof takes a key file's text (with its one trailing newline) as Verify does", async () => {
    const r = await Effect.runPromise(Effect.either(Proof.verifyProof(text(proof.file), { publicKeys: keysOf(proof.public_keys) })))
    expect(Either.isRight(r)).toBe(true)
  })

  it("the consistency document verifies alone: the later export extends the first", async () => {
    const r = await Effect.runPromise(Proof.verifyConsistencyDocument(text(consistency.file), { publicKeys: bareKeysOf(consistency.public_keys) }))
    expect([r.old.size, r.new.size]).toEqual([consistency.old_size, consistency.new_size])
    expect(r.old.note).toBe(text("pack.note"))
    // swapped, it proves nothing
    const swapped = JSON.parse(text(consistency.file)) as { old: string; new: string }
    const bad = text(consistency.file).replace(JSON.stringify(swapped.old), "\u0000OLD").replace(JSON.stringify(swapped.new), JSON.stringify(swapped.old)).replace("\u0000OLD", JSON.stringify(swapped.new))
    expect(bad).not.toBe(text(consistency.file))
    const r2 = await Effect.runPromise(Effect.either(Proof.verifyConsistencyDocument(bad, { publicKeys: bareKeysOf(consistency.public_keys) })))
    expect(Either.isLeft(r2) ? r2.left._tag : "consistent").toBe("NotConsistent")
  })

  it("the fork is not consistent with the original, and consistency names the first differing entry", async () => {
    const r = await Effect.runPromise(Effect.either(Proof.consistency(text(fork.old), text(fork.new), { publicKeys: bareKeysOf(["keys/vectors-a.pub"]) })))
    const e = Either.isLeft(r) ? r.left : undefined
    expect(e?._tag).toBe("NotConsistent")
    expect(e?._tag === "NotConsistent" ? e.firstDiffering : undefined).toBe(fork.first_differing)
  })

  it("the built acttrace verify-proof accepts the proof file (and refuses it under another key)", async () => {
    const [good, other] = await Promise.all([
      cliAsync(["verify-proof", join(DIR, proof.file), "--pubkey", join(DIR, "keys/vectors-a.pub"), "--json"]),
      cliAsync(["verify-proof", join(DIR, proof.file), "--pubkey", join(DIR, "keys/vectors-stranger.pub"), "--json"])
    ])
    expect(good.code, good.stderr).toBe(0)
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, size: proof.size, proven: proof.proven })
    expect(other.code, other.stderr).toBe(1)
    expect(JSON.parse(other.stdout)).toMatchObject({ ok: false, error: { _tag: "NoteUntrusted" } })
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// the generator and the independent Python check

describe("checkpoint vectors: the generator", () => {
  const scratch = mkdtempSync(join(tmpdir(), "acttrace-checkpoint-vectors-"))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it("write-checkpoints.mjs (over the built package) writes exactly the committed files", () => {
    const r = spawnSync(process.execPath, [join(VECTORS, "write-checkpoints.mjs"), scratch], { encoding: "utf8", timeout: 120_000 })
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    const written = onDisk(scratch).sort()
    expect(written).toEqual(onDisk(DIR).sort())
    const hint = "the committed vectors are not what write-checkpoints.mjs writes: if the writer changed on purpose (a new version in audit_open's producer, say), run `npm run build && node test/fixtures/vectors/write-checkpoints.mjs` and review the diff"
    for (const f of written) expect(readFileSync(join(scratch, f)).equals(readFileSync(join(DIR, f))), `${f}: ${hint}`).toBe(true)
  }, 120_000)
})

const python = spawnSync("python3", ["--version"], { encoding: "utf8" })
const hasPython = python.status === 0
if (!hasPython && process.env["CI"] === "true") throw new Error("CI=true but python3 is missing")
if (!hasPython) console.warn("SKIPPED: python3 not found; check_checkpoints.py needs it (the library and CLI checks ran)")

describe.skipIf(!hasPython)("checkpoint vectors through Python (FORMAT B.2–B.3, RFC 9162)", () => {
  interface Checked {
    readonly file: string
    readonly problem: { readonly seq: number | null; readonly reason: string } | null
    readonly checkpoints?: number
    readonly meta_checkpoint?: "checked" | "absent" | "none"
    readonly entries?: number
    readonly root?: string
    readonly proven?: ReadonlyArray<number>
    readonly sizes?: ReadonlyArray<number>
  }
  const r = spawnSync("python3", [join(VECTORS, "check_checkpoints.py"), DIR], { encoding: "utf8" })
  const checked = new Map(
    r.stdout.trimEnd().split("\n").filter((l) => l.length > 0).map((l) => {
      const c = JSON.parse(l) as Checked
      return [c.file, c] as const
    })
  )

  it("runs clean and checks every file", () => {
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    expect([...checked.keys()].sort()).toEqual([...new Set(cases.map((c) => c.file)), doc.documents.proof.file, doc.documents.consistency.file].sort())
  })

  it("every intact log and pack: each checkpoint entry's size, head, root and note body, and _meta.checkpoint over the whole pack and its seal digest", async () => {
    for (const c of cases.filter((c) => !c.file.startsWith("tampered/") && c.verdict === "ok")) {
      const py = checked.get(c.file)!
      expect(py.problem, c.file).toBeNull()
      expect(py.checkpoints, c.file).toBe(c.checkpoint_count)
      expect(py.entries, c.file).toBe(c.entries)
      const isPack = c.file.includes("pack")
      expect(py.meta_checkpoint, c.file).toBe(isPack ? "checked" : "none")
      if (isPack) {
        // the root Python computes is the one the library's report names
        const report = await run(Verify.file(join(DIR, c.file), { publicKeys: keysOf(c.public_keys) }))
        expect(Option.getOrThrow(report.lastCheckpoint).root, c.file).toBe(py.root)
      }
    }
  })

  it("every tampered checkpoint is found at the seq the case names, every tampered header in _meta", () => {
    for (const c of cases.filter((c) => c.file.startsWith("tampered/") && (c.verdict === "CheckpointInvalid" || c.verdict === "CheckpointUntrusted"))) {
      expect(checked.get(c.file)!.problem?.seq, label(c)).toBe(c.seq)
    }
    for (const c of cases.filter((c) => c.verdict === "HeaderInvalid")) {
      const py = checked.get(c.file)!
      // a stripped checkpoint is no problem to a reader of B.2: it is simply absent
      if (py.problem === null) expect(py.meta_checkpoint, label(c)).toBe("absent")
      else expect(py.problem.seq, label(c)).toBeNull()
    }
  })

  it("the proof file's inclusion proofs and the consistency document's proof, recomputed", () => {
    expect(checked.get(doc.documents.proof.file)).toEqual({ file: doc.documents.proof.file, problem: null, proven: doc.documents.proof.proven })
    expect(checked.get(doc.documents.consistency.file)).toEqual({
      file: doc.documents.consistency.file,
      problem: null,
      sizes: [doc.documents.consistency.old_size, doc.documents.consistency.new_size]
    })
  })
})
