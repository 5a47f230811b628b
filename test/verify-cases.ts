/**
 * Logs and packs to verify, shared by the fold and sink suites: chains in both line layouts,
 * signed and unsigned, packs with a signed header, sealed packs written by our own exporter (and
 * one with its seal taken out), and a log whose beginning is gone.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import * as F from "../src/internal/fixtures.js"

export const KEY = "fold-and-sink-key"
export const key = Redacted.make(KEY)

/** A verdict as text: everything a report or an error says, so that two verdicts compare whole. */
export const show = (r: Either.Either<Verify.Report, Verify.VerifyError>): string =>
  Either.match(r, {
    onLeft: (e) => `${e._tag} line ${e.line} seq ${e.seq}: ${e.message}`,
    onRight: (r) =>
      `ok ${r.entries} ${r.head} ${r.signatures} ${r.completeness} ${Option.match(r.meta, { onNone: () => "-", onSome: (m) => `${m.system}/${m.entries}/${m.head_hash}` })}`
  })

/** Step `lines` from `state`: the state reached, or the first error. */
export const stepAll = (state: Verify.State, lines: ReadonlyArray<Uint8Array>): Either.Either<Verify.State, Verify.VerifyError> => {
  let s = state
  for (const l of lines) {
    const r = Verify.step(s, l)
    if (Either.isLeft(r)) return r
    s = r.right
  }
  return Either.right(s)
}

/** The verdict of `lines` stepped from `state` and finished, as text (see `show`). */
export const verdictFrom = (state: Verify.State, lines: ReadonlyArray<Uint8Array>): string => show(Either.flatMap(stepAll(state, lines), Verify.finish))

/**
 * A pack written by our exporter (sealed when `key` is given), from a memory log of `decisions`
 * decisions, each with records and some with flags, under the GDPR controls.
 */
export const exportPack = (dir: string, name: string, options: { readonly key?: string | undefined; readonly decisions: number }): Promise<string> =>
  Effect.gen(function*() {
    const out = join(dir, `${name}.jsonl`)
    const log = yield* AuditLog.AuditLog
    for (let i = 0; i < options.decisions; i++) {
      yield* log.withDecision({ input: { i, note: `case ${i} — ☕` }, actor: `agent-${i % 3}` }, (d) =>
        Effect.gen(function*() {
          yield* d.record({ i, outcome: i % 2 === 0 ? "approved" : "declined", score: i / 7 })
          if (i % 4 === 1) yield* d.flag(`review ${i}`)
        }))
    }
    yield* log.export(out, { framework: "gdpr" })
    return readFileSync(out, "utf8")
  }).pipe(
    Effect.provide(
      AuditLog.layer({ system: "fold-and-sink", riskTier: "high" }).pipe(
        Layer.provide(Store.layerMemory()),
        Layer.provide(options.key === undefined ? Signer.layerNone : Signer.layerHmac(Redacted.make(options.key))),
        Layer.provide(Redactor.layerDefault),
        Layer.provideMerge(NodeFileSystem.layer)
      )
    ),
    Effect.runPromise
  )

/** The non-empty lines of a text, as bytes. */
export const linesOf = (text: string): Array<Buffer> => text.split("\n").filter((l) => l.length > 0).map((l) => Buffer.from(l))

export interface Case {
  readonly name: string
  readonly lines: ReadonlyArray<Buffer>
  readonly options: Verify.Options
}

/** Every case, each under the options that make it verify (and some under ones that do not). */
export const cases = async (dir: string): Promise<ReadonlyArray<Case>> => {
  const ours = F.chain(F.mixed(14), { key: KEY })
  const reference = F.chain(F.mixed(14), { key: KEY, layout: "reference" })
  const unsigned = F.chain(F.mixed(10))
  const header = [F.metaLine({ system: "s", riskTier: "high", head: ours.head, entries: 14, key: KEY }), ...ours.lines]
  const sealed = await exportPack(dir, "sealed", { key: KEY, decisions: 6 })
  const plain = await exportPack(dir, "plain", { decisions: 5 })
  // the exporter's pack with its seal taken out: with the key, an acttrace log's pack must be sealed
  const [meta, ...rows] = sealed.split("\n")
  const unsealed = [meta!.replace(/,"seal":\{[^}]*\}/, ""), ...rows].join("\n")
  if (unsealed === sealed) throw new Error("the exporter's pack has no seal to take out")
  const bytes = (ls: ReadonlyArray<string>) => ls.map((l) => Buffer.from(l))
  return [
    { name: "signed log, our layout, key", lines: bytes(ours.lines), options: { key } },
    { name: "signed log, our layout, no key", lines: bytes(ours.lines), options: {} },
    { name: "signed log, reference layout, key", lines: bytes(reference.lines), options: { key } },
    { name: "unsigned log", lines: bytes(unsigned.lines), options: {} },
    { name: "log with head and count given", lines: bytes(ours.lines), options: { key, expectedHead: ours.head, expectedEntries: 14 } },
    { name: "pack with a signed header, key", lines: bytes(header), options: { key, requireComplete: true } },
    { name: "pack with a signed header, no key", lines: bytes(header), options: {} },
    { name: "sealed pack, key", lines: linesOf(sealed), options: { key } },
    { name: "sealed pack, no key", lines: linesOf(sealed), options: {} },
    { name: "sealed pack without its seal, key", lines: linesOf(unsealed), options: { key } },
    { name: "unsigned pack", lines: linesOf(plain), options: {} },
    { name: "log whose beginning is gone", lines: bytes(ours.lines.slice(5)), options: { key, startMidChain: true } }
  ]
}
