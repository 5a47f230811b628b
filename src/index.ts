/**
 * acttrace: a tamper-evident, hash-chained record of AI decisions, verifiable offline.
 *
 * Each module is also importable on its own (`acttrace/Verify`), which keeps bundles small.
 *
 * @since 0.1.0
 */

/**
 * Canonical JSON of the wire format: the bytes that are hashed.
 *
 * @since 0.1.0
 */
export * as Canonical from "./Canonical.js"

/**
 * Schemas of entries and pack headers, and the line writer.
 *
 * @since 0.1.0
 */
export * as Entry from "./Entry.js"

/**
 * The hash chain.
 *
 * @since 0.1.0
 */
export * as Hash from "./Hash.js"

/**
 * The Merkle tree over a log's entries (RFC 9162): roots, inclusion and consistency proofs.
 *
 * @since 0.1.0
 */
export * as Merkle from "./Merkle.js"

/**
 * Entry signatures as an Effect service.
 *
 * @since 0.1.0
 */
export * as Signer from "./Signer.js"

/**
 * Verification as a pure fold over a stream of lines.
 *
 * @since 0.1.0
 */
export * as Verify from "./Verify.js"

/**
 * Proof files (chosen entries with their inclusion proofs against a signed checkpoint) and
 * consistency between packs, checked with the public key alone.
 *
 * @since 0.1.0
 */
export * as Proof from "./Proof.js"

/**
 * Reading a pack as a person: the summary that `acttrace inspect` prints, and the
 * self-contained HTML report that verifies its embedded pack again in the browser.
 *
 * @since 0.1.0
 */
export * as Report from "./Report.js"

/**
 * The audit log an app writes: decisions, records, oversight, flags, export.
 *
 * @since 0.1.0
 */
export * as AuditLog from "./AuditLog.js"

/**
 * The single writer of a log: normalize, redact, stamp, hash, sign, append.
 *
 * @since 0.1.0
 */
export * as Chain from "./Chain.js"

/**
 * Control ids of evidence-pack rows per framework.
 *
 * @since 0.1.0
 */
export * as Controls from "./Controls.js"

/**
 * Evidence packs: verified, annotated, sealed.
 *
 * @since 0.1.0
 */
export * as Pack from "./Pack.js"

/**
 * Scrubbing secrets and personal data before hashing.
 *
 * @since 0.1.0
 */
export * as Redactor from "./Redactor.js"

/**
 * Where a chain's lines live: a locked, durable file, or memory.
 *
 * @since 0.1.0
 */
export * as Store from "./Store.js"

/**
 * Auto-capture: the capture hub, the `fetch` wrapper for provider SDKs, tool wrappers and
 * interceptors. (The `@effect/ai` decorator is `acttrace/CaptureAi`.)
 *
 * @since 0.1.0
 */
export * as Capture from "./Capture.js"

/**
 * The pre-flight guard over outbound model requests and tool arguments.
 *
 * @since 0.1.0
 */
export * as Guard from "./Guard.js"

/**
 * Model prices and call costs in exact decimals.
 *
 * @since 0.1.0
 */
export * as Pricing from "./Pricing.js"

/**
 * The detection engine: detectors, validators, policies, `scan` and `redact`.
 *
 * @since 0.1.0
 */
export * as Detect from "./Detect.js"
