/**
 * Schemas of a chain entry and of an evidence pack's `_meta` header (FORMAT A.1, A.4), and the
 * writer of our line layout.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CanonicalError } from "./Canonical.js"
import * as Hash from "./Hash.js"

/**
 * The entry types our writer produces (FORMAT A.6). Readers accept any string.
 *
 * @since 0.1.0
 * @category models
 */
export const KnownType = Schema.Literal(
  "audit_open",
  "decision",
  "decision_record",
  "human_oversight",
  "decision_end",
  "llm_call",
  "tool_call",
  "context_assembly",
  "policy_flag",
  "checkpoint"
)

/**
 * @since 0.1.0
 * @category models
 */
export type KnownType = typeof KnownType.Type

const Hex64 = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))

/**
 * One chain entry as it stands in a log line.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Entry = Schema.Struct({
  seq: Schema.NonNegativeInt,
  ts: Schema.String,
  type: Schema.String,
  payload: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  prev_hash: Hex64,
  hash: Hex64,
  sig: Schema.optionalWith(Schema.String, { default: () => "" })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Entry = typeof Entry.Type

/**
 * Counts in an evidence pack's summary.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Summary = Schema.Struct({
  decisions: Schema.NonNegativeInt,
  llm_calls: Schema.NonNegativeInt,
  tool_calls: Schema.NonNegativeInt,
  context_assemblies: Schema.NonNegativeInt,
  human_oversight: Schema.NonNegativeInt,
  policy_flags: Schema.NonNegativeInt,
  flags_by_action: Schema.Record({ key: Schema.String, value: Schema.NonNegativeInt }),
  flags_by_severity: Schema.Record({ key: Schema.String, value: Schema.NonNegativeInt })
})

/**
 * The frameworks a pack can be annotated for.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Framework = Schema.Literal("eu_ai_act", "iso_42001", "gdpr", "nist_rmf")

/**
 * The `_meta` header of an evidence pack. `summary` is lenient because reference packs may hold
 * an empty one.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Meta = Schema.Struct({
  system: Schema.String,
  risk_tier: Schema.NullOr(Schema.String),
  framework: Schema.optional(Schema.NullOr(Schema.String)),
  controls_covered: Schema.optional(Schema.Array(Schema.String)),
  summary: Schema.optional(Schema.Unknown),
  head_hash: Schema.String,
  entries: Schema.NonNegativeInt,
  disclaimer: Schema.optional(Schema.String),
  sig: Schema.optional(Schema.String),
  seal: Schema.optional(Schema.Unknown)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Meta = typeof Meta.Type

/**
 * The fields an entry is built from before it is hashed and signed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Draft extends Hash.Hashable {
  readonly prevHash: string
}

/**
 * A sealed entry: its line (without the newline), hash and signature.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sealed {
  readonly line: string
  readonly hash: string
  readonly sig: string
}

/**
 * Hash and sign a draft and lay it out as our writer does: the canonical body first
 * (`{"payload":…,"seq":…,"ts":…,"type":…`), then `prev_hash`, `hash`, `sig`. A verifier can then
 * hash the line's own bytes instead of re-serializing it (DESIGN "Speed"); any other verifier
 * reads it as ordinary JSON.
 *
 * @since 0.1.0
 * @category encoding
 */
export const seal = (draft: Draft, sign: (hash: string) => string): Either.Either<Sealed, CanonicalError> =>
  Either.map(Hash.body(draft), (body) => {
    const hash = Hash.chainHash(draft.prevHash, body)
    const sig = sign(hash)
    return {
      line: `${body.slice(0, -1)},"prev_hash":${JSON.stringify(draft.prevHash)},"hash":"${hash}","sig":"${sig}"}`,
      hash,
      sig
    }
  })
