/**
 * The hash chain of FORMAT A.2: `hash = hex(SHA-256(prev_hash + canonical body))`.
 *
 * @since 0.1.0
 */
import { createHash, hash } from "node:crypto"
import * as Either from "effect/Either"
import type { CanonicalError } from "./Canonical.js"
import * as Canonical from "./Canonical.js"

/**
 * `prev_hash` of the first entry: 64 ASCII zeros.
 *
 * @since 0.1.0
 * @category constants
 */
export const GENESIS = "0".repeat(64)

/**
 * The part of an entry that is hashed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Hashable {
  readonly seq: number
  readonly ts: string
  readonly type: string
  readonly payload: unknown
}

/**
 * Canonical body `{"payload":…,"seq":…,"ts":…,"type":…}` of an entry.
 *
 * @since 0.1.0
 * @category hashing
 */
export const body = (entry: Hashable): Either.Either<string, CanonicalError> =>
  Canonical.encode({ payload: entry.payload, seq: entry.seq, ts: entry.ts, type: entry.type })

/**
 * SHA-256 (lowercase hex) of `prevHash` followed by a canonical body.
 *
 * @since 0.1.0
 * @category hashing
 */
export const chainHash = (prevHash: string, canonicalBody: string | Uint8Array): string =>
  typeof canonicalBody === "string"
    ? hash("sha256", prevHash + canonicalBody, "hex")
    : hash("sha256", Buffer.concat([Buffer.from(prevHash, "utf8"), canonicalBody]), "hex")

/**
 * The `hash` of an entry linked to `prevHash`.
 *
 * @since 0.1.0
 * @category hashing
 */
export const entryHash = (prevHash: string, entry: Hashable): Either.Either<string, CanonicalError> =>
  Either.map(body(entry), (b) => chainHash(prevHash, b))

/**
 * Lowercase hex SHA-256 of UTF-8 text or bytes.
 *
 * @since 0.1.0
 * @category hashing
 */
export const sha256Hex = (data: string | Uint8Array): string => hash("sha256", data, "hex")

/**
 * Prefix of the text an evidence pack's seal digests (FORMAT B.3, see `Pack`).
 *
 * @since 0.1.0
 * @category constants
 */
export const SEAL_CONTEXT = "acttrace-seal/1\n"

/**
 * The seal's digest (hex) from the canonical `_meta` without `sig` and `seal`, and the SHA-256 of
 * the rows' controls lines (each row's canonical `controls`, or `null`, followed by `"\n"`).
 *
 * @since 0.1.0
 * @category hashing
 */
export const sealDigest = (canonicalMeta: string, rowsDigest: Uint8Array): string =>
  createHash("sha256").update(SEAL_CONTEXT + canonicalMeta + "\n").update(rowsDigest).digest("hex")
