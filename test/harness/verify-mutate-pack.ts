/**
 * The sealed pack the verification fuzz harness mutates, written by our own writer: an
 * HMAC-signed log (file store, default redaction) with decisions, `llm_call`, `tool_call`,
 * `context_assembly`, `human_oversight` and `policy_flag` entries holding non-ASCII and astral
 * strings, escapes, fractions and exponents, nested objects and arrays and keys one byte apart
 * (so one byte can make a duplicate key), exported with a framework so rows carry `controls` and
 * `_meta` carries `sig` and `seal`.
 */
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../../src/AuditLog.js"
import type * as Controls from "../../src/Controls.js"
import * as Redactor from "../../src/Redactor.js"
import * as Signer from "../../src/Signer.js"
import * as Store from "../../src/Store.js"

export interface Built {
  readonly path: string
  readonly entries: number
  readonly head: string
}

/** Write a log of `decisions` decisions into `dir` and export it; the pack's path. */
export const writePack = (
  dir: string,
  options: { readonly key: string; readonly decisions: number; readonly framework: Controls.Framework }
): Promise<Built> => {
  const log = join(dir, "log.jsonl")
  const pack = join(dir, "pack.jsonl")
  const layer = AuditLog.layer({ system: "credit-scoring ✓ «prod»", riskTier: "high" }).pipe(
    Layer.provide(Store.layerFile(log).pipe(Layer.provide(NodeFileSystem.layer))),
    Layer.provide(Signer.layerHmac(Redacted.make(options.key))),
    Layer.provide(Redactor.layerDefault),
    Layer.provide(NodeFileSystem.layer)
  )
  return Effect.gen(function* () {
    const l = yield* AuditLog.AuditLog
    for (let i = 0; i < options.decisions; i++) {
      const input = {
        applicant: i % 2 === 0 ? "Zoë Ødegård" : "Ана Петрова",
        amount: 1234.5 + i,
        rate: 1.5e-7 * (i + 1),
        share: 0.1 + 0.2,
        huge: 1e21,
        limit: 3e16,
        list: [1, 2.5, -0.75, { deep: [[], {}, [null, true, false]], "😀": "astral ⌘", "～": "full-width" }],
        k1: 1,
        k2: 2,
        quote: `she said "no" \\ then / left\ttab ${i}`
      }
      yield* l.withDecision({ input, actor: i % 2 === 0 ? "agent-λ" : "agent-ß" }, (d) =>
        Effect.gen(function* () {
          yield* l.contextAssembly({
            model: "gpt-4.1-mini",
            budget: 8000,
            used: 7421,
            kept: [{ id: "doc-1", tokens: 1200, reason: "relevant ★" }, "msg-2"],
            dropped: [{ id: "doc-9", tokens: 4000, reason: "over budget" }]
          })
          yield* l.append("llm_call", {
            provider: i % 2 === 0 ? "openai" : "anthropic",
            model: i % 2 === 0 ? "gpt-4.1-mini" : "claude-sonnet-4-5",
            usage: { input_tokens: 1200 + i, output_tokens: 80, cached_tokens: 1024, reasoning_tokens: 0, cache_write: 0 },
            cost: `0.00${123 + i} USD`,
            latency_ms: 312.25 + i,
            replayed: false,
            finish_reason: "stop"
          })
          yield* l.append("tool_call", {
            name: "lookup_bureau",
            arguments: { q: "naïve café ☕", k: 3, filters: [{ field: "a1", op: "≥", v: 2e-5 }, { field: "a2", op: "≤", v: 1e-3 }], a1: 1, a2: 2 },
            outcome: "success",
            latency_ms: 12.5
          })
          yield* d.record({ verdict: i % 3 === 0 ? "declined" : "approved", score: 0.9375, weights: [0.25, -1.5e-300, 7e22], note: "Ünïcödé — ok\n2nd line" })
          yield* d.humanOversight({ reviewer: "Jürgen Ñúñez", action: "approved", note: "checked — 👍 \"fine\"" })
          yield* d.flag("special category data in the input", {
            action: "flagged",
            severity: i % 2 === 0 ? "warning" : "info",
            data: { group: "special_category", span: [3, 9], score: 0.875 }
          })
        })
      )
    }
    yield* l.flag("policy check outside a decision", { action: "blocked", severity: "critical", data: { group: "secret", ratio: 1e-9 } })
    const done = yield* l.export(pack, { framework: options.framework })
    return { path: pack, entries: done.entries, head: done.head }
  }).pipe(Effect.provide(layer), Effect.scoped, Effect.provide(NodeFileSystem.layer), Effect.runPromise)
}
