/**
 * Chains made on the spot for tests and benchmarks, in our line layout or in the reference
 * implementation's layout (Python `json.dumps` defaults: `", "` and `": "` separators, insertion
 * key order, non-ASCII raw).
 * @internal
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Canonical from "../Canonical.js"
import * as Entry from "../Entry.js"
import { GENESIS } from "../Hash.js"
import { FastHmac } from "./hmac.js"

export type Layout = "ours" | "reference"

export interface Spec {
  readonly type: string
  readonly payload: Record<string, unknown>
}

/** Python's `json.dumps(v, ensure_ascii=False)` with default separators, for plain test data. */
export const pyDumps = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(pyDumps).join(", ")}]`
  if (v !== null && typeof v === "object" && !(v instanceof Canonical.Num)) {
    return `{${Object.entries(v).map(([k, x]) => `${pyDumps(k)}: ${pyDumps(x)}`).join(", ")}}`
  }
  return Either.getOrThrow(Canonical.encode(v))
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")

/** A realistic `llm_call` payload of about 350 bytes, varying with `i`. */
export const llmCall = (i: number): Spec => ({
  type: "llm_call",
  payload: {
    decision_id: hex(0x5eed0000 + Math.floor(i / 4), 32),
    provider: i % 3 === 0 ? "anthropic" : "openai",
    model: i % 3 === 0 ? "claude-sonnet-4-5" : "gpt-4.1-mini",
    usage: {
      input_tokens: 1200 + (i % 977),
      output_tokens: 80 + (i % 311),
      cached_tokens: i % 5 === 0 ? 1024 : 0,
      reasoning_tokens: 0,
      cache_write: 0
    },
    cost: `0.00${(1000 + (i % 9000)).toString()} USD`,
    latency_ms: 300 + (i % 1000) + 0.25,
    replayed: false,
    finish_reason: "stop",
    outcome: "success",
    otel_span_id: hex(0x1000 + i, 16)
  }
})

/** The timestamp our writer would put on entry `seq` (UTC, microseconds, `+00:00`). */
export const timestamp = (seq: number): string =>
  new Date(Date.UTC(2026, 10, 27, 12, 0, 0) + seq).toISOString().replace("Z", "000+00:00")

export interface Chain {
  readonly lines: Array<string>
  readonly head: string
  readonly hashes: Array<string>
}

export interface ChainOptions {
  readonly key?: string | undefined
  readonly layout?: Layout | undefined
  /** seq of the first spec (continuing a chain) */
  readonly seq?: number | undefined
  /** hash of the entry before the first spec */
  readonly prevHash?: string | undefined
}

/** A chain of `specs` starting at seq 0 (or continuing one); signed when `key` is given. */
export const chain = (specs: ReadonlyArray<Spec>, options: ChainOptions = {}): Chain => {
  const mac = options.key === undefined ? undefined : new FastHmac(Buffer.from(options.key, "utf8"))
  const sign = (h: string) => (mac === undefined ? "" : mac.ofHash(h))
  const lines: Array<string> = []
  const hashes: Array<string> = []
  let prev = options.prevHash ?? GENESIS
  const first = options.seq ?? 0
  specs.forEach((s, k) => {
    const seq = first + k
    const ts = timestamp(seq)
    const sealed = Either.getOrThrow(Entry.seal({ prevHash: prev, seq, ts, type: s.type, payload: s.payload }, sign))
    lines.push(
      options.layout === "reference"
        ? pyDumps({ seq, ts, type: s.type, payload: s.payload, prev_hash: prev, hash: sealed.hash, sig: sealed.sig })
        : sealed.line
    )
    hashes.push(sealed.hash)
    prev = sealed.hash
  })
  return { lines, head: prev, hashes }
}

/** An `_meta` header line as the reference writes it (signed when `key` is given). */
export const metaLine = (m: {
  readonly system: string
  readonly riskTier: string
  readonly head: string
  readonly entries: number
  readonly key?: string | undefined
}): string => {
  const meta: Record<string, unknown> = {
    system: m.system,
    risk_tier: m.riskTier,
    framework: null,
    controls_covered: [],
    summary: {},
    head_hash: m.head,
    entries: m.entries,
    disclaimer: "Evidence to support compliance — not legal advice."
  }
  if (m.key !== undefined) {
    const body = Either.getOrThrow(Canonical.encode({ entries: m.entries, head_hash: m.head, risk_tier: m.riskTier, system: m.system }))
    meta["sig"] = new FastHmac(Buffer.from(m.key, "utf8")).hex(body)
  }
  return pyDumps({ _meta: meta })
}

/** A small mixed chain that exercises every entry type and the tricky number and string forms. */
export const mixed = (n: number): Array<Spec> => {
  const out: Array<Spec> = [{ type: "audit_open", payload: { system: "s", risk_tier: "high", format: "acttrace-chain/1" } }]
  for (let i = 1; i < n; i++) {
    out.push(
      i % 3 === 0
        ? llmCall(i)
        : i % 3 === 1
        ? { type: "decision_record", payload: { decision_id: hex(i, 32), ratio: i + 0.5, tiny: 1e-5 * i, big: 10n ** 20n + BigInt(i), note: `café ☕ 😀 \n ${i}` } }
        : { type: "tool_call", payload: { decision_id: null, name: "lookup", arguments: { id: i, "😀": 1, "～": 2 } } }
    )
  }
  return out
}

export const keyOf = (k: string) => Redacted.make(k)
