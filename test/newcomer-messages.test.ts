// What a first-time user reads when verification stops: the words of the error, not the
// verifier's internals (a sentinel seq, a Buffer's TypeError).
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { join } from "node:path"
import * as AuditLog from "../src/AuditLog.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { cli, tempDir } from "./helpers.js"
import { exportPack, KEY, key, linesOf } from "./verify-cases.js"

const { dir, cleanup } = tempDir()
afterAll(cleanup)

const failure = (r: Either.Either<Verify.Report, Verify.VerifyError>): Verify.VerifyError => {
  if (Either.isRight(r)) throw new Error(`verified: ${r.right.entries} entries`)
  return r.left
}

describe("a chain whose first entries are gone", () => {
  it("says where the chain starts and what is missing, not that seq jumps from -1", async () => {
    const lines = linesOf(await exportPack(dir, "cut-start", { key: KEY, decisions: 2 }))
    // the header, then audit_open (seq 0), the first decision (1), its record (2): keep from seq 3 on
    const e = failure(Verify.lines(lines.slice(4), { key }))
    expect(e._tag).toBe("DeletionDetected")
    expect(e.message).toBe("line 1 (seq 3): chain link broken: the chain starts at seq 3 (entries 0 to 2 are missing)")
    // one entry gone: the same, in the singular; with its header kept, the first entry is line 2
    const one = failure(Verify.lines([lines[0]!, ...lines.slice(2)], { key }))
    expect(one.message).toBe("line 2 (seq 1): chain link broken: the chain starts at seq 1 (entry 0 is missing)")
    // in the middle, the jump is still told from the entry before it
    const middle = failure(Verify.lines([...lines.slice(0, 3), ...lines.slice(4)], { key }))
    expect(middle.message).toBe("line 4 (seq 3): chain link broken: seq jumps from 1 to 3")
  })

  it("the CLI, on the pack of a bounded memory log (its oldest entries evicted)", async () => {
    const pack = join(dir, "bounded.pack.jsonl")
    await Effect.gen(function*() {
      const log = yield* AuditLog.AuditLog
      for (let i = 0; i < 3; i++) yield* log.flag(`flag ${i}`)
      yield* log.export(pack)
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "bounded", riskTier: "limited" }).pipe(
          Layer.provide(Store.layerMemory({ capacity: 2 })),
          Layer.provide(Signer.layerNone),
          Layer.provide(Redactor.layerNoop),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      Effect.runPromise
    )
    const r = cli(["verify", pack])
    expect(r.code).toBe(1)
    expect(r.stdout + r.stderr).not.toContain("-1")
    expect(r.stdout).toContain("DeletionDetected at line 2 (seq 2): chain link broken: the chain starts at seq 2 (entries 0 to 1 are missing)")
  })
})

describe("a key that is not a string", () => {
  it("is refused by name where the verification is made, not by Buffer deep inside it", () => {
    // what `Redacted.make(process.env.ACTTRACE_KEY!)` gives when the variable is not set
    const unset = Redacted.make(process.env["ACTTRACE_NEVER_SET_IN_TESTS"]!)
    expect(() => Verify.initial({ key: unset })).toThrow(
      new TypeError("Verify: options.key holds undefined, not a string (read the key with Config.redacted(\"ACTTRACE_KEY\"), which fails with a ConfigError naming a missing variable)")
    )
    expect(() => Verify.sink({ key: Redacted.make(42 as unknown as string) })).toThrow(/options\.key holds a number, not a string/)
  })
})

describe("a pack checked with another key than the one it was signed with", () => {
  it("says which key signed it and which was given, not only that a signature does not match", async () => {
    const lines = linesOf(await exportPack(dir, "other-key", { key: KEY, decisions: 1 }))
    const given = Redacted.make("not-the-key")
    const e = failure(Verify.lines(lines, { key: given }))
    expect(e._tag).toBe("SignatureInvalid")
    expect(e.message).toBe(
      `line 2 (seq 0): signature does not match the key: the log was signed with key id ${Signer.hmacKeyId(key)}, the key given has key id ${Signer.hmacKeyId(given)}`
    )
    // the right key and a signature changed: the plain words, since the key ids agree
    const forged = lines[1]!.toString().replace(/"sig":"[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith("0") ? "1" : "0"))
    const changed = failure(Verify.lines([lines[0]!, Buffer.from(forged), ...lines.slice(2)], { key }))
    expect(changed.message).toBe("line 2 (seq 0): signature does not match the key")
    // and the CLI prints the same
    const pack = join(dir, "other-key.jsonl")
    const r = cli(["verify", pack], { ACTTRACE_KEY: "not-the-key" })
    expect(r.code).toBe(1)
    expect(r.stdout.trim()).toBe(`SignatureInvalid at line 2 (seq 0): signature does not match the key: the log was signed with key id ${Signer.hmacKeyId(key)}, the key given has key id ${Signer.hmacKeyId(given)}`)
  })
})
