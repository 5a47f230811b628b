/**
 * Public-key evidence on the command line (issue 13, items 1, 4, 5, 6, 8): `keygen`, `verify
 * --pubkey` (repeatable) and `--since`, `checkpoint`, `prove`, `verify-proof`, `consistency` and
 * `demo --private-key`, on real files, with real keys that `acttrace keygen` made, logs written by
 * the library with Ed25519 checkpoints, and the CLI run in this process (its `main`) or, where the
 * bytes of its output or its process matter, as the built executable.
 */
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as F from "../src/internal/fixtures.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { cliInProcess as run } from "./cli-in-process.js"
import { cli as spawned, tempDir } from "./helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)
const at = (name: string) => join(tmp.dir, name)

/** A checkpoint every 5 entries and none on a timer: positions the tests can name. */
const EVERY = 5

/**
 * A file log written with the Ed25519 key in `keyFile` (and the HMAC key `hmac`, when given): `n`
 * entries appended (payload `{i, tag}`), then, when `pack` is given, exported there.
 */
const write = (log: string, keyFile: string, n: number, options: { readonly tag?: string; readonly pack?: string; readonly hmac?: string } = {}) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const l = yield* AuditLog.AuditLog
      for (let i = 0; i < n; i++) yield* l.append("decision_record", { i, tag: options.tag ?? "original" })
      if (options.pack !== undefined) yield* l.export(options.pack, { framework: "eu_ai_act" })
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "cli-checkpoints", riskTier: "high" }).pipe(
          Layer.provideMerge(Store.layerFile(log)),
          Layer.provide(
            Signer.layerEd25519(
              Redacted.make(readFileSync(keyFile, "utf8").replace(/\r?\n$/, "")),
              options.hmac === undefined ? {} : { hmac: Redacted.make(options.hmac) }
            )
          ),
          Layer.provide(Redactor.layerDefault),
          Layer.provide(Chain.layerCheckpointPolicy({ every: EVERY, interval: Duration.infinity })),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      Effect.scoped
    )
  )

const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0)
const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>

let alphaKey = ""
let alphaPub = ""
let betaPub = ""
// the original log and its pack; the same log continued and exported again; a fork of it
const log = at("audit.jsonl")
const pack = at("pack.jsonl")
const longer = at("pack-longer.jsonl")
const forkLog = at("fork.jsonl")
const forkPack = at("fork-pack.jsonl")
/** where the fork's history leaves the original's: its first entry after the copied prefix */
let forkAt = 0

beforeAll(async () => {
  const a = await run(["keygen", "--out", at("keys"), "--name", "alpha"])
  expect(a.code, a.stderr).toBe(0)
  const b = await run(["keygen", "--out", at("keys"), "--name", "beta"])
  expect(b.code, b.stderr).toBe(0)
  alphaKey = at("keys/alpha.key")
  alphaPub = at("keys/alpha.pub")
  betaPub = at("keys/beta.pub")
  await write(log, alphaKey, 23, { pack })
  // the fork: the original's first lines (up to and including the checkpoint after entry 10),
  // then other entries under the same key: a genuine-looking history that is not the published one
  const original = lines(log)
  const cut = original.findIndex((l, i) => i > 10 && l.includes('"type":"checkpoint"'))
  forkAt = cut + 1
  writeFileSync(forkLog, original.slice(0, forkAt).join("\n") + "\n")
  await write(forkLog, alphaKey, 30, { tag: "rewritten", pack: forkPack })
  // the original log continued, exported again
  await write(log, alphaKey, 12, { pack: longer })
})

describe("acttrace keygen (item 1)", () => {
  it("writes NAME.key (0600, C2SP signer key) and NAME.pub (verifier key); prints the public key, never the private", async () => {
    const r = await run(["keygen", "--out", at("kg"), "--name", "gamma"])
    expect(r.code, r.stderr).toBe(0)
    const key = readFileSync(at("kg/gamma.key"), "utf8")
    const pub = readFileSync(at("kg/gamma.pub"), "utf8")
    // base64 of 0x01 and 32 key bytes: 44 characters, no padding
    expect(key).toMatch(/^PRIVATE\+KEY\+gamma\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/)
    expect(pub).toMatch(/^gamma\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/)
    expect(statSync(at("kg/gamma.key")).mode & 0o777).toBe(0o600)
    expect(statSync(at("kg/gamma.pub")).mode & 0o777).toBe(0o644)
    expect(r.stdout).toContain(pub.trim())
    expect(r.stdout).toContain(at("kg/gamma.key"))
    // the private key's material is in no output
    const secret = key.trim().split("+").slice(4).join("+")
    expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it("never overwrites a key; refuses a bad name (exit 2)", async () => {
    const before = readFileSync(alphaKey, "utf8")
    const again = await run(["keygen", "--out", at("keys"), "--name", "alpha"])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/^error: .*alpha\.key/m)
    expect(readFileSync(alphaKey, "utf8")).toBe(before)
    const bad = await run(["keygen", "--out", at("kg"), "--name", "two words"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--name/)
    expect(existsSync(at("kg/two words.key"))).toBe(false)
  })

  it("default name acttrace", async () => {
    const r = await run(["keygen", "--out", at("kg-default")])
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(at("kg-default/acttrace.pub"), "utf8")).toMatch(/^acttrace\+/)
  })
})

describe("verify --pubkey (item 4)", () => {
  it("a pack verifies under its public key alone: signed-checkpoint, every checkpoint checked, no unsealed tail", async () => {
    const r = await run(["verify", pack, "--pubkey", alphaPub, "--json"])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const v = json(r.stdout)
    expect(v).toMatchObject({ ok: true, completeness: "signed-checkpoint", checkpoints: "verified", unsealed_tail: 0 })
    expect(v["checkpoint_count"]).toBeGreaterThanOrEqual(4)
    const text = await run(["verify", pack, "--pubkey", alphaPub])
    expect(text.stdout).toMatch(/^ok: \d+ entries, .*completeness: signed-checkpoint\); checkpoints verified: \d+, unsealed tail 0$/)
  })

  it("a pack with HMAC entry signatures verified under --pubkey alone: a note, not a warning to fetch the HMAC key; the signing key is never taken for an HMAC key", async () => {
    const both = at("both.jsonl")
    const bothPack = at("both.pack.jsonl")
    await write(both, alphaKey, 3, { pack: bothPack, hmac: "cli-checkpoints-hmac" })
    const r = await run(["verify", bothPack, "--pubkey", alphaPub])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/^warning:/m)
    expect(r.stderr).toMatch(/^note: the entries also carry HMAC signatures .*not checked without the HMAC key; the checkpoints, checked under --pubkey, cover them$/m)
    for (const args of [["verify", bothPack, "--key-file", alphaKey], ["export", both, "--out", at("x.pack.jsonl"), "--key-file", alphaKey, "--private-key", alphaKey]]) {
      const wrong = await run(args)
      expect(wrong.code, args.join(" ")).toBe(2)
      expect(wrong.stderr).toMatch(/is an Ed25519 signing key .* not an HMAC passphrase/)
      expect(wrong.stderr + wrong.stdout).not.toContain(readFileSync(alphaKey, "utf8").trim().split("+").slice(4).join("+"))
    }
  })

  it("--every-signature checks each checkpoint signature where it stands: same verdict on an intact pack; it needs --pubkey", async () => {
    const every = await run(["verify", pack, "--pubkey", alphaPub, "--every-signature", "--json"])
    expect(every.code, every.stdout + every.stderr).toBe(0)
    const lazy = await run(["verify", pack, "--pubkey", alphaPub, "--json"])
    expect(json(every.stdout)).toEqual(json(lazy.stdout))
    const alone = await run(["verify", pack, "--every-signature"])
    expect(alone.code).toBe(2)
    expect(alone.stderr).toMatch(/--every-signature needs --pubkey/)
  })

  it("a key that is not trusted is CheckpointUntrusted (exit 1), not tampering; repeated --pubkey trusts each", async () => {
    const r = await run(["verify", pack, "--pubkey", betaPub, "--json"])
    expect(r.code).toBe(1)
    const v = json(r.stdout)
    expect(v["error"]["_tag"]).toBe("CheckpointUntrusted")
    expect(v["error"]["message"]).toContain("alpha")
    const both = await run(["verify", pack, "--pubkey", betaPub, "--pubkey", alphaPub, "--json"])
    expect(both.code, both.stdout).toBe(0)
    expect(json(both.stdout)["completeness"]).toBe("signed-checkpoint")
  })

  it("a tampered pack fails under the public key (exit 1)", async () => {
    const edited = at("edited.pack.jsonl")
    // an entry rewritten and its hash left: the chain breaks
    writeFileSync(edited, readFileSync(pack, "utf8").replace('"i":7,', '"i":70,'))
    const r = await run(["verify", edited, "--pubkey", alphaPub, "--json"])
    expect(r.code).toBe(1)
    expect(json(r.stdout)["error"]["_tag"]).toBe("EditDetected")
    // the header's signed checkpoint swapped for another genuine one (the fork's, same key)
    const swapped = at("swapped-note.pack.jsonl")
    const rows = lines(pack)
    const meta = JSON.parse(rows[0]!)
    meta._meta.checkpoint = JSON.parse(lines(forkPack)[0]!)._meta.checkpoint
    writeFileSync(swapped, [JSON.stringify(meta), ...rows.slice(1)].join("\n") + "\n")
    const s = await run(["verify", swapped, "--pubkey", alphaPub, "--json"])
    expect(s.code).toBe(1)
    expect(json(s.stdout)["error"]["_tag"]).toBe("HeaderInvalid")
    // the header's summary edited: the pack line of its signed note no longer matches
    const summary = at("summary.pack.jsonl")
    const edited2 = JSON.parse(rows[0]!)
    edited2._meta.summary.decisions = 999
    writeFileSync(summary, [JSON.stringify(edited2), ...rows.slice(1)].join("\n") + "\n")
    const h = await run(["verify", summary, "--pubkey", alphaPub, "--json"])
    expect(h.code).toBe(1)
    expect(json(h.stdout)["error"]["_tag"]).toBe("HeaderInvalid")
  })

  it("--require-complete fails on a log cut back to an earlier checkpoint; without it the cut is reported as such", async () => {
    const all = lines(pack)
    // drop the header (a raw log) and everything after the third checkpoint entry
    const entries = all.slice(1)
    let seen = 0
    const end = entries.findIndex((l) => l.includes('"type":"checkpoint"') && ++seen === 3)
    const cut = at("cut.jsonl")
    writeFileSync(cut, entries.slice(0, end + 1).join("\n") + "\n")
    const plain = await run(["verify", cut, "--pubkey", alphaPub, "--json"])
    expect(plain.code, plain.stdout).toBe(0)
    expect(json(plain.stdout)).toMatchObject({ ok: true, completeness: "none", checkpoints: "verified", checkpoint_count: 3, unsealed_tail: 0 })
    const strict = await run(["verify", cut, "--pubkey", alphaPub, "--require-complete", "--json"])
    expect(strict.code).toBe(1)
    expect(json(strict.stdout)["error"]["_tag"]).toBe("TruncationDetected")
    // the same cut behind a header rewritten to claim it is whole (its checkpoint cannot be re-signed)
    const meta = JSON.parse(all[0]!)._meta
    delete meta.checkpoint
    delete meta.seal
    const last = JSON.parse(entries[end]!)
    meta.entries = end + 1
    meta.head_hash = last.hash
    const rewritten = at("cut-meta.jsonl")
    writeFileSync(rewritten, [JSON.stringify({ _meta: meta }), ...entries.slice(0, end + 1)].join("\n") + "\n")
    const r = await run(["verify", rewritten, "--pubkey", alphaPub, "--require-complete", "--json"])
    expect(r.code).toBe(1)
    expect(["HeaderInvalid", "TruncationDetected"]).toContain(json(r.stdout)["error"]["_tag"])
  })

  it("a log with an unsealed tail says how many entries no checkpoint covers", async () => {
    const all = lines(pack).slice(1)
    const i = all.findIndex((l) => l.includes('"type":"checkpoint"'))
    const tail = at("tail.jsonl")
    writeFileSync(tail, all.slice(0, i + 4).join("\n") + "\n")
    const r = await run(["verify", tail, "--pubkey", alphaPub, "--json"])
    expect(r.code, r.stdout).toBe(0)
    expect(json(r.stdout)).toMatchObject({ checkpoints: "verified", checkpoint_count: 1, unsealed_tail: 3 })
  })

  it("without --pubkey a checkpointed pack verifies as a chain and says on stderr that its checkpoints were not checked", async () => {
    const r = await run(["verify", pack, "--json"])
    expect(r.code).toBe(0)
    expect(json(r.stdout)["checkpoints"]).toBe("not-checked")
    expect(r.stderr).toMatch(/^warning: .*checkpoint.*--pubkey/m)
  })

  it("the warning repeats a key name the file states only when it is fit for a terminal (no control characters)", async () => {
    const evil = at("evil-name.jsonl")
    const c = F.chain([{ type: "audit_open", payload: { system: "s", checkpoints: { alg: "ed25519", key: "\u001b[2Jevil+deadbeef+AQ==", origin: "o" } } }])
    writeFileSync(evil, c.lines.join("\n") + "\n")
    const r = await run(["verify", evil])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^warning: the log signs checkpoints; checkpoints were not checked/m)
    expect(r.stderr).not.toContain("\u001b")
    const fine = at("fine-name.jsonl")
    writeFileSync(fine, F.chain([{ type: "audit_open", payload: { system: "s", checkpoints: { alg: "ed25519", key: "prod-2026+deadbeef+AQ==", origin: "o" } } }]).lines.join("\n") + "\n")
    expect((await run(["verify", fine])).stderr).toMatch(/^warning: the log signs checkpoints with key prod-2026\+deadbeef; /m)
  })

  it("a bad --pubkey file is a usage error naming it (exit 2): a PEM key, a private key, a missing file; the private key is never quoted", async () => {
    const { generateKeyPairSync } = await import("node:crypto")
    const pem = at("pub.pem")
    writeFileSync(pem, generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString())
    for (const file of [pem, alphaKey, at("missing.pub")]) {
      const r = await run(["verify", pack, "--pubkey", file])
      expect(r.code, file).toBe(2)
      expect(r.stderr, file).toContain(file)
      expect(r.stdout).toBe("")
    }
    const secret = readFileSync(alphaKey, "utf8").trim().split("+").slice(4).join("+")
    expect((await run(["verify", pack, "--pubkey", alphaKey])).stderr).not.toContain(secret)
  })
})

describe("published checkpoints: acttrace checkpoint and verify --since (item 5)", () => {
  it("checkpoint prints exactly the pack's signed note (the built executable: the bytes on stdout)", () => {
    const r = spawned(["checkpoint", pack])
    expect(r.code, r.stderr).toBe(0)
    const meta = JSON.parse(lines(pack)[0]!)._meta
    expect(r.stdout).toBe(meta.checkpoint)
    expect(r.stdout.endsWith("\n")).toBe(true)
    expect(r.stderr).toBe("")
    // a raw log: the note of its last checkpoint entry
    const l = spawned(["checkpoint", log])
    expect(l.code).toBe(0)
    const last = lines(log).filter((x) => x.includes('"type":"checkpoint"')).at(-1)!
    expect(l.stdout).toBe(JSON.parse(last).payload.note)
  })

  it("the printed note is what --since accepts: the same pack and a longer one extend it", async () => {
    const published = at("published.note")
    writeFileSync(published, spawned(["checkpoint", pack]).stdout)
    for (const p of [pack, longer]) {
      const r = await run(["verify", p, "--pubkey", alphaPub, "--since", published, "--json"])
      expect(r.code, r.stdout + r.stderr).toBe(0)
    }
    // the old pack itself as --since
    const r = await run(["verify", longer, "--pubkey", alphaPub, "--since", pack])
    expect(r.code, r.stdout + r.stderr).toBe(0)
  })

  it("a forked history under the same key verifies on its own, but fails --since the original's note (HistoryRewritten, exit 1)", async () => {
    const alone = await run(["verify", forkPack, "--pubkey", alphaPub])
    expect(alone.code, alone.stdout).toBe(0)
    const published = at("published-original.note")
    writeFileSync(published, spawned(["checkpoint", pack]).stdout)
    const r = await run(["verify", forkPack, "--pubkey", alphaPub, "--since", published, "--json"])
    expect(r.code).toBe(1)
    const v = json(r.stdout)
    expect(v["error"]["_tag"]).toBe("HistoryRewritten")
    const text = await run(["verify", forkPack, "--pubkey", alphaPub, "--since", published])
    expect(text.stdout).toMatch(/^HistoryRewritten/)
    // with the original pack, the first differing entry is named
    const named = await run(["verify", forkPack, "--pubkey", alphaPub, "--since", pack])
    expect(named.code).toBe(1)
    expect(named.stdout).toMatch(new RegExp(`^HistoryRewritten at line ${forkAt + 2} \\(seq ${forkAt}\\): the entry at seq ${forkAt} differs`))
    const namedJson = json((await run(["verify", forkPack, "--pubkey", alphaPub, "--since", pack, "--json"])).stdout)
    expect(namedJson["error"]).toMatchObject({ _tag: "HistoryRewritten", seq: forkAt, first_differing: forkAt })
    // a note alone cannot name it
    expect(v["error"]).toMatchObject({ first_differing: null })
    expect(v["error"]["published_size"]).toBe(JSON.parse(lines(pack)[0]!)._meta.entries)
  })

  it("checkpoint refuses a file without checkpoints, and with --pubkey a file another key signed (exit 1, nothing on stdout)", async () => {
    const hmacLog = at("hmac-only.jsonl")
    await Effect.runPromise(
      Effect.gen(function*() {
        const l = yield* AuditLog.AuditLog
        yield* l.append("decision_record", { i: 1 })
      }).pipe(
        Effect.provide(
          AuditLog.layer({ system: "hmac-only", riskTier: "high" }).pipe(
            Layer.provideMerge(Store.layerFile(hmacLog)),
            Layer.provide(Signer.layerHmac(Redacted.make("k"))),
            Layer.provide(Redactor.layerDefault),
            Layer.provideMerge(NodeFileSystem.layer)
          )
        ),
        Effect.scoped
      )
    )
    const none = await run(["checkpoint", hmacLog])
    expect(none.code).toBe(1)
    expect(none.stdout).toBe("")
    expect(none.stderr).toMatch(/^error: .*no signed checkpoint/m)
    const other = await run(["checkpoint", pack, "--pubkey", betaPub])
    expect(other.code).toBe(1)
    expect(other.stdout).toBe("")
    const ok = await run(["checkpoint", pack, "--pubkey", alphaPub])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout + "\n").toBe(JSON.parse(lines(pack)[0]!)._meta.checkpoint)
    expect((await run(["checkpoint", at("no-such-pack.jsonl")])).code).toBe(2)
  })

  it("--since a file that is no signed checkpoint, or without --pubkey, is a usage error (exit 2)", async () => {
    const junk = at("junk.note")
    writeFileSync(junk, "not a note\n")
    const r = await run(["verify", pack, "--pubkey", alphaPub, "--since", junk])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: .*junk\.note.*signed note/m)
    expect((await run(["verify", pack, "--pubkey", alphaPub, "--since", at("nope.note")])).code).toBe(2)
    expect((await run(["verify", pack, "--since", pack])).code).toBe(2)
  })
})

describe("proof files: prove, verify-proof, consistency (item 6)", () => {
  it("prove writes the chosen entries and nothing of the others; verify-proof proves them with the public key alone", async () => {
    const proof = at("proof.json")
    const p = await run(["prove", pack, "--seq", "12,3", "--out", proof, "--pubkey", alphaPub])
    expect(p.code, p.stderr).toBe(0)
    const doc = JSON.parse(readFileSync(proof, "utf8"))
    expect(doc.format).toBe("acttrace-proof/1")
    expect(doc.entries.map((e: any) => e.entry.seq).sort((a: number, b: number) => a - b)).toEqual([3, 12])
    // no other entry's hash or content
    // (a proven entry's prev_hash names the entry before it: seqs 2 and 11)
    const others = lines(pack).slice(1).map((l) => JSON.parse(l)).filter((e) => ![2, 3, 11, 12].includes(e.seq))
    const text = readFileSync(proof, "utf8")
    // (and the checkpoint's head line names the last entry's hash)
    const last = others.at(-1).seq
    for (const e of others) if (e.seq !== last) expect(text).not.toContain(e.hash)
    const v = await run(["verify-proof", proof, "--pubkey", alphaPub])
    expect(v.code, v.stdout + v.stderr).toBe(0)
    expect(v.stdout).toMatch(/seq 3\b/)
    expect(v.stdout).toMatch(/seq 12\b/)
    expect(v.stdout).toMatch(/^ok: 2 entries proven/m)
    const j = await run(["verify-proof", proof, "--pubkey", alphaPub, "--json"])
    expect(json(j.stdout)).toMatchObject({ ok: true, proven: [3, 12], signers: [expect.stringMatching(/^alpha\+[0-9a-f]{8}$/)] })
  })

  it("an edited proof is rejected (exit 1); a proof under a key not trusted is untrusted", async () => {
    const proof = at("proof-2.json")
    expect((await run(["prove", pack, "--seq", "7", "--out", proof])).code).toBe(0)
    const doc = JSON.parse(readFileSync(proof, "utf8"))
    const edited = at("proof-edited.json")
    writeFileSync(edited, readFileSync(proof, "utf8").replace('"tag":"original"', '"tag":"edited"'))
    expect(readFileSync(edited, "utf8")).not.toBe(readFileSync(proof, "utf8"))
    const e = await run(["verify-proof", edited, "--pubkey", alphaPub])
    expect(e.code).toBe(1)
    // the proof of another entry swapped in
    const other = at("proof-3.json")
    expect((await run(["prove", pack, "--seq", "8", "--out", other])).code).toBe(0)
    const swapped = at("proof-swapped.json")
    writeFileSync(swapped, JSON.stringify({ ...doc, entries: [{ ...doc.entries[0], proof: JSON.parse(readFileSync(other, "utf8")).entries[0].proof }] }))
    expect((await run(["verify-proof", swapped, "--pubkey", alphaPub])).code).toBe(1)
    const untrusted = await run(["verify-proof", proof, "--pubkey", betaPub])
    expect(untrusted.code).toBe(1)
    expect(untrusted.stdout + untrusted.stderr).toMatch(/untrusted|not trusted/i)
    // a proof whose format member was edited is a rejected proof, not the wrong file
    const format = at("proof-format.json")
    writeFileSync(format, readFileSync(proof, "utf8").replace("acttrace-proof/1", "acttrace-proof/9"))
    const f = await run(["verify-proof", format, "--pubkey", alphaPub])
    expect(f.code).toBe(1)
    expect(f.stdout).toMatch(/^ProofMalformed: /)
    // not a proof at all (a pack, a note), no key, no file: usage errors
    for (const args of [[pack, "--pubkey", alphaPub], [at("keys/alpha.pub"), "--pubkey", alphaPub], [proof], [at("nope.json"), "--pubkey", alphaPub]]) {
      const r = await run(["verify-proof", ...args])
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stderr, args.join(" ")).toMatch(/^error: /m)
    }
  })

  it("prove never writes its proof over the pack it reads (exit 2, the pack unchanged)", async () => {
    const copy = at("prove-over.pack.jsonl")
    copyFileSync(pack, copy)
    const before = readFileSync(copy, "utf8")
    const r = await run(["prove", copy, "--seq", "3", "--out", copy])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: --out .* was read/m)
    expect(readFileSync(copy, "utf8")).toBe(before)
    const c = await run(["consistency", pack, copy, "--pubkey", alphaPub, "--out", copy])
    expect(c.code).toBe(2)
    expect(readFileSync(copy, "utf8")).toBe(before)
  })

  it("prove refuses a seq the pack does not hold (exit 1) and a malformed --seq (exit 2)", async () => {
    expect((await run(["prove", pack, "--seq", "9999", "--out", at("p.json")])).code).toBe(1)
    expect((await run(["prove", pack, "--seq", "x", "--out", at("p.json")])).code).toBe(2)
  })

  it("consistency: exit 0 when NEW extends OLD (and --out writes the proof); exit 1 naming where a fork diverges", async () => {
    const out = at("consistency.json")
    const ok = await run(["consistency", pack, longer, "--pubkey", alphaPub, "--out", out])
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/^ok: /)
    expect(JSON.parse(readFileSync(out, "utf8")).format).toBe("acttrace-consistency/1")
    const bad = await run(["consistency", pack, forkPack, "--pubkey", alphaPub])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(new RegExp(`seq ${forkAt}\\b`))
  })
})

describe("acttrace export --private-key", () => {
  it("a log with signed checkpoints exports with its private key to a pack that verifies with the .pub alone; without it, or with another key, it is refused", async () => {
    const out = at("exported.pack.jsonl")
    const missing = await run(["export", log, "--out", out])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^error: .*--private-key/m)
    const ok = await run(["export", log, "--out", out, "--private-key", alphaKey, "--framework", "gdpr"])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/sealed by its signed checkpoint/)
    const v = await run(["verify", out, "--pubkey", alphaPub, "--require-complete", "--json"])
    expect(v.code, v.stdout).toBe(0)
    expect(json(v.stdout)).toMatchObject({ completeness: "signed-checkpoint", checkpoints: "verified", unsealed_tail: 0 })
    expect((await run(["keygen", "--out", at("export-keys"), "--name", "delta"])).code).toBe(0)
    const other = await run(["export", log, "--out", at("other.pack.jsonl"), "--private-key", at("export-keys/delta.key")])
    expect(other.code).toBe(1)
    expect(other.stderr).toMatch(/^error: .*checkpoints with the key alpha\+/m)
    // a file that is not a signer key (the .pub): a usage error naming it
    const pub = await run(["export", log, "--out", at("x.pack.jsonl"), "--private-key", alphaPub])
    expect(pub.code).toBe(2)
    expect(pub.stderr).toContain(alphaPub)
  })
})

describe("acttrace demo --private-key (item 8)", () => {
  it("writes its log with Ed25519 checkpoints and runs prove, verify-proof and verify --since on its pack", async () => {
    const dir = at("demo")
    const r = spawned(["demo", "--out", dir, "--private-key", alphaKey])
    expect(r.code, r.stderr).toBe(0)
    // each command as it was run, and what it printed
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? checkpoint .*\n  .+\n  \d+\n/m)
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? prove .*--seq \d+,\d+ .*\n  wrote .*decision\.proof\.json/m)
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? verify-proof .*\n(  proven: seq \d+ .*\n){2}  ok: 2 entries proven/m)
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? verify .*later\.pack\.jsonl --pubkey .* --since .*published\.note\n  ok: /m)
    // the history rewritten with the key itself: verifies alone, fails --since and consistency
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? verify \S*rewritten\.pack\.jsonl --pubkey \S+\n  ok: /m)
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? verify \S*rewritten\.pack\.jsonl --pubkey \S+ --since \S+\n  HistoryRewritten.*\n  \(exit 1\)/m)
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? consistency .*\n  NotConsistent: .*seq \d+/m)
    const v = await run(["verify", join(dir, "loan-triage.pack.jsonl"), "--pubkey", alphaPub, "--json"])
    expect(json(v.stdout)).toMatchObject({ ok: true, completeness: "signed-checkpoint", checkpoints: "verified" })
  })
})
