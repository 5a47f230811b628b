/**
 * Key rotation on the verifier's side (design 13, item 7): a `key_rotation` entry names the new
 * checkpoint key, and the new key is trusted once a checkpoint signed by the trusted old key
 * covers that entry. A log signed with A, then B, verifies with only A trusted; a rotation that no
 * checkpoint under A confirms is `CheckpointUntrusted` ("rotation not confirmed").
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Verify from "../src/Verify.js"
import { tempDir } from "./helpers.js"
import { A, B, build, C, calls, checkpointed, type Item, pack, verifyFile } from "./verify-checkpoint-logs.js"

const tmp = tempDir()
afterAll(tmp.cleanup)

const trustA = { publicKeys: [A.verifierKey] }

/** A log checkpointed under A, rotated to B (confirmed by a checkpoint under A), then under B. */
const rotated = (confirm: boolean): Array<Item> => [
  ...checkpointed(20, 10),
  { kind: "rotation", to: B, previous: A },
  // the confirming checkpoint is signed with the previous key, A
  ...(confirm ? [{ kind: "checkpoint", forge: (f: { signers: ReadonlyArray<unknown> }) => void (f.signers = [A.signer]) } as Item] : []),
  ...checkpointed(25, 10, 300),
  { kind: "checkpoint" }
]

describe("Verify: key rotation", () => {
  it("a log signed with A and then B verifies with only A trusted", async () => {
    const log = build({ key: A, items: rotated(true) })
    const r = Verify.lines(log.lines, trustA)
    expect(Either.isRight(r) && r.right).toMatchObject({ checkpoints: "verified", checkpointCount: 6, unsealedTail: 0 })
    const path = join(tmp.dir, "rotated.jsonl")
    writeFileSync(path, log.lines.join("\n") + "\n")
    expect((await verifyFile(path, { ...trustA, chunkSize: 2048 })).result).toEqual(r)
    // and its pack, whose export note is signed by B
    const p = pack(log, { key: B })
    const rp = Verify.lines(p, { ...trustA, requireComplete: true })
    expect(Either.isRight(rp) && rp.right.completeness).toBe("signed-checkpoint")
    expect(Either.isRight(rp) && Option.isSome(rp.right.lastCheckpoint)).toBe(true)
  })

  it("a key_rotation not confirmed by a checkpoint under A is CheckpointUntrusted: rotation not confirmed", () => {
    const log = build({ key: A, items: rotated(false) })
    const r = Verify.lines(log.lines, trustA)
    expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "CheckpointUntrusted", seq: 34 })
    expect(Either.isLeft(r) && r.left.message).toContain("rotation not confirmed")
    // trusting B too does not skip the confirmation: the log's rule is that A vouches for B
    const both = Verify.lines(log.lines, { publicKeys: [A.verifierKey, B.verifierKey] })
    expect(Either.isLeft(both) && both.left.message).toContain("rotation not confirmed")
  })

  it("a confirming checkpoint signed by the new key instead of the old one does not confirm it", () => {
    const items = rotated(true).map((i, k) => (k === 23 ? ({ kind: "checkpoint" } as Item) : i))
    const log = build({ key: A, items })
    const r = Verify.lines(log.lines, trustA)
    expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "CheckpointUntrusted", seq: 24 })
  })

  it("a rotation to a key the log did not have (previous null) is trusted only through publicKeys", () => {
    const log = build({ key: null, items: [...calls(3), { kind: "rotation", to: B, previous: null }, ...checkpointed(12, 6, 50)] })
    expect(Either.isLeft(Verify.lines(log.lines, trustA))).toBe(true)
    const r = Verify.lines(log.lines, { publicKeys: [B.verifierKey] })
    expect(Either.isRight(r) && r.right).toMatchObject({ checkpoints: "verified", checkpointCount: 2 })
  })

  it("a key_rotation whose previous key is not the log's is CheckpointInvalid", () => {
    const log = build({ key: A, items: [...checkpointed(10, 10), { kind: "rotation", to: B, previous: C }, { kind: "checkpoint" }] })
    expect(Verify.lines(log.lines, trustA)).toMatchObject({ left: { _tag: "CheckpointInvalid", seq: 12 } })
  })
})
