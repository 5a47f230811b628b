/**
 * Errors read once: every tagged error of the library prints its tag once, in front, wherever it
 * is printed (`String(error)`, `Cause.pretty`, a rejected `runPromise`, `util.inspect`), and its
 * `message` holds no tag; a missing `ACTTRACE_KEY` is a typed error that says what to set.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { inspect } from "node:util"
import * as Canonical from "../src/Canonical.js"
import * as Chain from "../src/Chain.js"
import * as Controls from "../src/Controls.js"
import * as Detect from "../src/Detect.js"
import * as Guard from "../src/Guard.js"
import { UsageError } from "../src/internal/cli.js"
import * as Keygen from "../src/internal/keygen.js"
import * as F from "../src/internal/fixtures.js"
import * as Lock from "../src/internal/lock.js"
import { verdictText } from "../src/internal/messages.js"
import * as Pack from "../src/Pack.js"
import * as Pricing from "../src/Pricing.js"
import * as Proof from "../src/Proof.js"
import * as Redactor from "../src/Redactor.js"
import * as Report from "../src/Report.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Root from "../src/index.js"
import * as Verify from "../src/Verify.js"

const at = { line: 18, seq: 16, reason: "content does not match its hash" }

/** One of every verdict error of Verify, with the fields a user would see. */
const verdicts = (): ReadonlyArray<Verify.VerifyError> => [
  new Verify.MalformedLine(at),
  new Verify.EditDetected(at),
  new Verify.ReorderDetected(at),
  new Verify.DeletionDetected(at),
  new Verify.TruncationDetected(at),
  new Verify.SignatureInvalid(at),
  new Verify.HeaderInvalid({ line: 1, seq: null, reason: "_meta.sig does not match" }),
  new Verify.CheckpointInvalid({ line: 1002, seq: 1000, reason: "the checkpoint's root is not the root of the tree of the 1000 entries before it" }),
  new Verify.CheckpointUntrusted({ line: 1002, seq: 1000, signers: ["carol+0a1b2c3d"], reason: "the checkpoint is signed only by keys that are not trusted (carol+0a1b2c3d)" }),
  new Verify.HistoryRewritten({ line: 36, seq: 34, publishedSize: 35, reason: "the history differs from the published checkpoint at or before seq 34" }),
  new Verify.PublicKeyInvalid({ key: 1, reason: "the key hash 00000000 does not match the name and key (their hash is 0a1b2c3d)" }),
  new Verify.Unreadable({ path: "pack.jsonl", reason: "no such file or directory" })
]

/** One of every tagged error class in src/, with the fields a user would see. */
const samples = (): ReadonlyArray<{ readonly _tag: string; readonly message: string } & Error> => [
  new Canonical.CanonicalError({ reason: "NonFinite", at: "$.x", detail: "NaN has no JSON form" }),
  new Chain.LogInvalid({ store: "audit.jsonl", reason: "EditDetected at line 3 (seq 2): content does not match its hash" }),
  new Chain.LogMismatch({ store: "audit.jsonl", field: "signing key id", expected: "0123456789abcdef", found: "fedcba9876543210" }),
  new Chain.ChainClosed(),
  new Chain.ReservedType({ type: "checkpoint", seq: 12 }),
  new Chain.ReservedType({ type: "audit_open", seq: 3 }),
  new Controls.UnknownFramework({ framework: "sox" }),
  new Detect.UnknownDetector({ detector: "+uk_nio", known: ["aadhaar", "api_key", "email", "uk_nino"], optIn: ["uk_nino", "aadhaar", "high_entropy"] }),
  new Guard.PolicyViolation({ kind: "tool", provider: null, model: null, tool: "send", findings: [{ category: "aws_key", group: "secret", count: 1, action: "block" }] }),
  new Pack.ExportError({ path: "pack.jsonl", reason: "it is the log itself" }),
  new Pricing.InvalidPrice({ provider: "openai", model: "gpt-x", rate: "-1" }),
  new Proof.PackUnreadable({ source: "pack.jsonl", line: 3, reason: "not a JSON object" }),
  new Proof.NoCheckpoint({ source: "audit.jsonl", reason: "it holds no checkpoint: write it with a checkpoint key" }),
  new Proof.CheckpointMismatch({ source: "pack.jsonl", size: 40, reason: "its root is not the root of the entries" }),
  new Proof.NoteInvalid({ source: "proof.json", reason: "the signature of trusted key alpha+0a1b2c3d does not verify" }),
  new Proof.NoteUntrusted({ source: "proof.json", signers: ["carol+0a1b2c3d"] }),
  new Proof.SeqNotProvable({ seq: 99, reason: "the checkpoint covers seq 0 to 39" }),
  new Proof.ProofMalformed({ reason: "entries[0].proof is not a list of base64 hashes" }),
  new Proof.EntryNotProven({ position: 0, seq: 12, reason: "its inclusion proof does not lead to the checkpoint's root" }),
  new Proof.NotConsistent({ oldSize: 40, newSize: 60, firstDiffering: 12, reason: "the entry at seq 12 differs" }),
  new Signer.InvalidKey({ reason: "the key is empty" }),
  new Signer.MissingKey({ variable: "ACTTRACE_KEY" }),
  new Signer.MissingKey({ variable: "ACTTRACE_SIGNING_KEY or ACTTRACE_SIGNING_KEY_FILE", alg: "ed25519" }),
  new Signer.NoteKeyInvalid({ kind: "signer", reason: "it is a verifier (public) key, not a signer (private) key" }),
  new Signer.InvalidOrigin({ origin: "a b", reason: "it holds a space" }),
  new Signer.KeyFileInvalid({ path: "keys/acttrace.key", kind: "signer", reason: "it is empty" }),
  new Keygen.KeygenError({ path: "keys/acttrace.key", reason: "it exists already" }),
  new Store.StoreError({ path: "audit.jsonl", operation: "append", reason: "no space left on device" }),
  new Store.LockHeld({ path: "audit.jsonl", lock: "audit.jsonl.lock", pid: 12, host: "h", since: "2026-01-01T00:00:00Z", reason: "is being written by pid 12 on h" }),
  new Store.TornTail({ path: "audit.jsonl", wholeBytes: 100, tornBytes: 7 }),
  new Store.NotALog({ path: "pack.jsonl", reason: "it is an evidence pack" }),
  new Report.InputUnreadable({ path: "pack.jsonl", reason: "no such file" }),
  new Report.NotJsonLines({ path: "pack.json", line: 1, reason: "the line is not a JSON object" }),
  new Report.OutputUnwritable({ path: "report.html", reason: "the directory does not exist" }),
  ...verdicts(),
  new UsageError({ reason: "give --key-file or --key, not both", usage: "usage: acttrace verify …" }),
  new Lock.LockIo({ path: "audit.jsonl.lock", operation: "read", reason: "EACCES: permission denied" }),
  new Lock.LockRefused({ refusal: { _tag: "Unsettled" } })
]

/** How many times `tag` stands as a word in `text`. */
const count = (text: string, tag: string) => text.split(new RegExp(`\\b${tag}\\b`)).length - 1

describe("errors read once", () => {
  it("the samples hold every tagged error class the package exports", () => {
    const exported = new Set<string>()
    for (const module of Object.values(Root) as Array<Record<string, unknown>>) {
      for (const value of Object.values(module)) {
        // a Schema.TaggedError class: a constructor whose instances are Errors with a fixed tag
        if (typeof value === "function" && value.prototype instanceof Error && typeof (value as { _tag?: unknown })._tag === "string") {
          exported.add((value as unknown as { _tag: string })._tag)
        }
      }
    }
    expect(exported.size).toBeGreaterThan(10)
    const sampled = new Set(samples().map((e) => e._tag))
    expect([...exported].filter((tag) => !sampled.has(tag))).toEqual([])
  })

  for (const e of samples()) {
    it(`${e._tag}: the tag once, in front, wherever it is printed; a message without it`, () => {
      const tag = e._tag
      expect(e.message.length, tag).toBeGreaterThan(0)
      expect(e.message, tag).not.toMatch(new RegExp(`^${tag}\\b`))
      const first = (s: string) => s.split("\n")[0]!
      const forms = {
        string: String(e),
        pretty: first(Cause.pretty(Cause.fail(e))),
        inspect: first(inspect(e)),
        runSync: first(String(Either.getLeft(Either.try(() => Effect.runSync(Effect.fail(e)))).pipe(Option.getOrThrow)))
      }
      for (const [how, text] of Object.entries(forms)) {
        expect(text, `${tag} ${how}`).toContain(`${tag}: ${first(e.message)}`)
        expect(count(text, tag), `${tag} ${how}: ${text}`).toBe(1)
      }
    })
  }

  it.effect("a verdict names its error once: the CLI's line and the reason of LogInvalid", () =>
    Effect.gen(function* () {
      for (const e of verdicts()) {
        const text = verdictText(e)
        expect(count(text, e._tag), text).toBe(1)
        expect(text).toMatch(new RegExp(`^${e._tag}\\b`))
      }
      expect(verdictText(new Verify.EditDetected(at))).toBe("EditDetected at line 18 (seq 16): content does not match its hash")
      expect(verdictText(new Verify.MalformedLine({ line: 0, seq: null, reason: "no entry" }))).toBe("MalformedLine: no entry")
      // checkpoint verdicts are located like the others; a bad public key names which one
      expect(verdictText(new Verify.CheckpointUntrusted({ line: 12, seq: 11, signers: ["carol+0a1b2c3d"], reason: "the checkpoint is signed only by keys that are not trusted (carol+0a1b2c3d)" })))
        .toBe("CheckpointUntrusted at line 12 (seq 11): the checkpoint is signed only by keys that are not trusted (carol+0a1b2c3d)")
      expect(verdictText(new Verify.PublicKeyInvalid({ key: 1, reason: "the key is not canonical standard base64" })))
        .toBe("PublicKeyInvalid: publicKeys[1]: the key is not canonical standard base64")
      // a chain over a log that does not verify
      const c = F.chain(F.mixed(4))
      const mem = yield* Store.makeMemory()
      yield* mem.append(c.lines.map((l, i) => (i === 2 ? l.replace('"seq":2', '"seq":3') : l)))
      const failed = yield* Effect.flip(Chain.make.pipe(
        Effect.provideService(Store.Store, mem),
        Effect.provide(Signer.layerNone),
        Effect.provide(Redactor.layerNoop),
        Effect.scoped
      ))
      expect(failed._tag).toBe("LogInvalid")
      expect(failed.message).toMatch(/^memory does not verify, so nothing may be appended to it: EditDetected at line 3 \(seq 3\): /)
      expect(count(String(failed), "EditDetected")).toBe(1)
      expect(count(String(failed), "LogInvalid")).toBe(1)
    }))
})

describe("a missing key says what to set", () => {
  it.effect("layerHmacConfig without ACTTRACE_KEY fails with MissingKey, naming the variable, --key-file and Signer.layerNone", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Layer.build(Signer.layerHmacConfig()).pipe(Effect.scoped, Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isSuccess(exit)) return
      const pretty = Cause.pretty(exit.cause)
      expect(pretty).not.toMatch(/Missing data/)
      const e = Option.getOrThrow(Cause.failureOption(exit.cause))
      expect(e._tag).toBe("MissingKey")
      expect(e).toBeInstanceOf(Signer.MissingKey)
      const m = e.message
      expect(m).toMatch(/ACTTRACE_KEY/)
      expect(m).toMatch(/--key-file/)
      expect(m).toMatch(/Signer\.layerNone/)
      expect(m).toMatch(/unsigned/)
      expect(pretty.split("\n")[0]).toBe(`MissingKey: ${m}`)
      // another Config names its own path
      const other = yield* Effect.flip(
        Layer.build(Signer.layerHmacConfig(Config.nested(Config.redacted("KEY"), "SIGNING"))).pipe(Effect.scoped, Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      )
      expect(other._tag).toBe("MissingKey")
      expect(other.message).toMatch(/SIGNING\.KEY/)
      // a key that is there still signs
      const signer = yield* Effect.provide(Signer.Signer, Signer.layerHmacConfig().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["ACTTRACE_KEY", "k"]]))))))
      expect(Option.isSome(signer.identity)).toBe(true)
      expect(Redacted.value(Option.getOrThrow(signer.key))).toBe("k")
    }))
})
