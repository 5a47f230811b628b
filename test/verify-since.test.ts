/**
 * `Verify` with `since` (design 13, item 5): a pack proves that it extends a checkpoint published
 * out of band. A history that differs before that point (the same key re-signing other entries)
 * is `HistoryRewritten`, however well its own checkpoints verify.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Verify from "../src/Verify.js"
import { tempDir } from "./helpers.js"
import { A, B, build, C, calls, checkpointed, type Item, pack, verifyFile } from "./verify-checkpoint-logs.js"

const tmp = tempDir()
afterAll(tmp.cleanup)

const trustA = { publicKeys: [A.verifierKey] }
const tag = (r: Either.Either<Verify.Report, Verify.VerifyError>) => (Either.isRight(r) ? "ok" : r.left._tag)

/** The original: 30 entries with checkpoints every 10, exported. */
const original = build({ key: A, items: [...checkpointed(30, 10), { kind: "checkpoint" }] })
const originalPack = pack(original, { key: A })
const published = (JSON.parse(originalPack[0]!) as { _meta: { checkpoint: string } })._meta.checkpoint
const inChain = original.notes[1]!.note // covers 22 entries

describe("Verify: since a published checkpoint", () => {
  it("the pack itself, and a later pack of the same log, extend the published checkpoint", async () => {
    expect(tag(Verify.lines(originalPack, { ...trustA, since: published }))).toBe("ok")
    expect(tag(Verify.lines(originalPack, { ...trustA, since: inChain }))).toBe("ok")
    const later = build({ key: A, items: [...checkpointed(30, 10), { kind: "checkpoint" }, ...checkpointed(25, 10, 500), { kind: "checkpoint" }] })
    const laterPack = pack(later, { key: A })
    expect(tag(Verify.lines(laterPack, { ...trustA, since: published, requireComplete: true }))).toBe("ok")
    const path = join(tmp.dir, "later.jsonl")
    writeFileSync(path, laterPack.join("\n") + "\n")
    expect(tag((await verifyFile(path, { ...trustA, since: published, chunkSize: 2048 })).result)).toBe("ok")
  })

  it("a forked history (same key, other entries, re-checkpointed) fails with HistoryRewritten", async () => {
    // the same first 15 entries, then others; checkpoints signed by the real key all along
    const forked = build({ key: A, items: [...checkpointed(15, 10), ...calls(5, 900), { kind: "checkpoint" }, ...checkpointed(20, 10, 950), { kind: "checkpoint" }] })
    const forkedPack = pack(forked, { key: A })
    // on its own it verifies: only the published note shows the rewrite
    expect(tag(Verify.lines(forkedPack, { ...trustA, requireComplete: true }))).toBe("ok")
    const r = Verify.lines(forkedPack, { ...trustA, since: published })
    expect(tag(r)).toBe("HistoryRewritten")
    const e = (r as Either.Left<Verify.VerifyError, Verify.Report>).left as Verify.HistoryRewritten
    expect(e.publishedSize).toBe(35)
    expect(e.seq).toBe(34)
    expect(e.message).toMatch(/at or before seq 34/)
    const path = join(tmp.dir, "forked.jsonl")
    writeFileSync(path, forkedPack.join("\n") + "\n")
    const viaFile = (await verifyFile(path, { ...trustA, since: published, chunkSize: 1024 })).result
    expect(Either.isLeft(viaFile) && viaFile.left).toEqual(e)
  })

  it("a pack that ends before the published checkpoint fails with HistoryRewritten", () => {
    const short = build({ key: A, items: [...checkpointed(20, 10), { kind: "checkpoint" }] })
    const r = Verify.lines(pack(short, { key: A }), { ...trustA, since: published })
    expect(tag(r)).toBe("HistoryRewritten")
  })

  it("a published note of another log is HistoryRewritten; an untrusted or edited one is refused", () => {
    const other = build({ key: A, origin: "acttrace/another", items: [...checkpointed(30, 10), { kind: "checkpoint" }] })
    const otherNote = (JSON.parse(pack(other, { key: A, origin: "acttrace/another" })[0]!) as { _meta: { checkpoint: string } })._meta.checkpoint
    expect(tag(Verify.lines(originalPack, { ...trustA, since: otherNote }))).toBe("HistoryRewritten")
    const byC = build({ key: C, items: [...checkpointed(30, 10), { kind: "checkpoint" }] })
    const cNote = (JSON.parse(pack(byC, { key: C })[0]!) as { _meta: { checkpoint: string } })._meta.checkpoint
    expect(tag(Verify.lines(originalPack, { ...trustA, since: cNote }))).toBe("CheckpointUntrusted")
    const edited = published.replace(/\n35\n/, "\n34\n")
    expect(tag(Verify.lines(originalPack, { ...trustA, since: edited }))).toBe("CheckpointInvalid")
    expect(tag(Verify.lines(originalPack, { ...trustA, since: "not a note" }))).toBe("CheckpointInvalid")
  })

  it("a note published after a rotation (signed by B) is trusted through the log's confirmed rotation, with only A given", () => {
    const rotated = (tail: ReadonlyArray<Item>): Array<Item> => [
      ...checkpointed(12, 5),
      { kind: "rotation", to: B, previous: A },
      { kind: "checkpoint", forge: (f) => void (f.signers = [A.signer]) },
      ...tail
    ]
    const first = build({ key: A, items: rotated([...checkpointed(8, 5, 40), { kind: "checkpoint" }]) })
    const note = (JSON.parse(pack(first, { key: B })[0]!) as { _meta: { checkpoint: string } })._meta.checkpoint
    const later = build({ key: A, items: rotated([...checkpointed(8, 5, 40), { kind: "checkpoint" }, ...checkpointed(9, 5, 70), { kind: "checkpoint" }]) })
    expect(tag(Verify.lines(pack(later, { key: B }), { ...trustA, since: note, requireComplete: true }))).toBe("ok")
    // a fork after the published point, re-signed by B: the note (trusted through the rotation) shows it
    const fork = build({ key: A, items: rotated([...checkpointed(8, 5, 600), { kind: "checkpoint" }, ...checkpointed(9, 5, 70), { kind: "checkpoint" }]) })
    const r = Verify.lines(pack(fork, { key: B }), { ...trustA, since: note })
    expect(r).toMatchObject({ left: { _tag: "HistoryRewritten", publishedSize: first.lines.length, seq: first.lines.length - 1, line: first.lines.length + 1 } })
    // without the rotation in the log, a note by B stays untrusted
    const plain = build({ key: A, items: [...checkpointed(30, 10), { kind: "checkpoint" }] })
    expect(tag(Verify.lines(pack(plain, { key: A }), { ...trustA, since: note }))).toBe("CheckpointUntrusted")
  })
})
