/**
 * Entry signatures (FORMAT A.3) with a key id (B.1), as an Effect service.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { sha256Hex } from "./Hash.js"
import { equalConstantTime, FastHmac, keyBytesOf } from "./internal/hmac.js"

/**
 * A key that cannot be used: empty, not text (a lone surrogate), or holding U+FFFD (the mark of
 * bytes that were not UTF-8, decoded lossily).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidKey extends Schema.TaggedError<InvalidKey>()("InvalidKey", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid signing key: ${this.reason}`
  }
}

/**
 * No signing key where `layerHmacConfig` looks for it (`ACTTRACE_KEY` by default): `variable` is
 * the Config path that is missing (an environment variable with the default provider). The
 * message says how to give one, or how to go without.
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingKey extends Schema.TaggedError<MissingKey>()("MissingKey", {
  // (not `name`: that is the tag an Error prints in front of its message)
  variable: Schema.String
}) {
  override get message(): string {
    return `no signing key: ${this.variable} is not set. Set ${this.variable} to the HMAC passphrase (or read it from a file: the acttrace CLI takes --key-file F), give Signer.layerHmac a key, or provide Signer.layerNone for an unsigned log`
  }
}

/**
 * What a signer is, as stated in a log's `audit_open` (`signing: {alg, key_id}`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Identity {
  readonly alg: "hmac-sha256"
  readonly keyId: string
}

/**
 * The Ed25519 key that signs a log's checkpoints (FORMAT B.2) as C2SP signed notes.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointSigner {
  readonly alg: "ed25519"
  /** the key's name */
  readonly name: string
  /** the C2SP key hash, 8 lowercase hex digits */
  readonly keyId: string
  /** the verifier key text, `name+hash+base64` (public) */
  readonly verifierKey: string
  /** the checkpoint origin to use instead of the one derived from the system name */
  readonly origin: Option.Option<string>
  /** a signed note over `body` (which ends in a newline) */
  readonly signNote: (body: string) => string
  /** the key this one replaces (key rotation): it signs the checkpoint that vouches for this one */
  readonly previous: Option.Option<CheckpointSigner>
}

/**
 * Signs entry hashes and checks signatures. `identity` is `None` for unsigned logs.
 *
 * @since 0.1.0
 * @category models
 */
export interface SignerService {
  readonly identity: Option.Option<Identity>
  /** the HMAC passphrase, for verifying what this signer wrote (resuming a log); `None` unsigned */
  readonly key: Option.Option<Redacted.Redacted<string>>
  /** `sig` for an entry hash (`""` when unsigned) */
  readonly sign: (hash: string) => string
  /** HMAC of arbitrary text (header signatures); `""` when unsigned */
  readonly signText: (text: string) => string
  /** constant-time check of `sig` against `hash` */
  readonly verify: (hash: string, sig: string) => boolean
  /** constant-time check of a signature over arbitrary text */
  readonly verifyText: (text: string, sig: string) => boolean
  /** the Ed25519 key that signs checkpoints, when the log has one */
  readonly checkpoints: Option.Option<CheckpointSigner>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Signer extends Context.Tag("acttrace/Signer")<Signer, SignerService>() {}

/**
 * HMAC key id (FORMAT B.1): the first 16 hex characters of SHA-256 of the key bytes.
 *
 * @since 0.1.0
 * @category keys
 */
export const hmacKeyId = (key: Redacted.Redacted<string>): string =>
  // hashed from the text (UTF-8 inside crypto), so no copy of the key lands in a shared Buffer pool
  sha256Hex(Redacted.value(key)).slice(0, 16)

/**
 * An HMAC-SHA256 signer for a passphrase (its UTF-8 bytes are the key). Fails on an empty key,
 * one holding a lone surrogate (it has no UTF-8 form), or one holding U+FFFD (what a lossy
 * decoding leaves of bytes that are not UTF-8; read key files as bytes and check them).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHmac = (key: Redacted.Redacted<string>): Effect.Effect<SignerService, InvalidKey> =>
  Effect.suspend(() => {
    const text = Redacted.value(key)
    if (text.length === 0) return Effect.fail(new InvalidKey({ reason: "the key is empty" }))
    if (!text.isWellFormed()) return Effect.fail(new InvalidKey({ reason: "the key is not valid text (lone surrogate)" }))
    // The key arrives as text: whatever read it (the environment, a Config file tree, a file read
    // as a string) has turned each byte that is not UTF-8 into U+FFFD, so different keys become
    // one. Only the mark is left to see, and a key holding it is refused (FORMAT A.3: the key is
    // the UTF-8 bytes of a passphrase).
    if (text.includes("\ufffd")) {
      return Effect.fail(
        new InvalidKey({
          reason: "the key holds U+FFFD (the replacement character), which is what bytes that are not UTF-8 become when read as text: it cannot be told from other keys; use a key of UTF-8 text"
        })
      )
    }
    // the key is held only in the closures of `mac` (see FastHmac); the service's one reference to
    // it is the Redacted `key`
    const bytes = keyBytesOf(text)
    const mac = new FastHmac(bytes)
    bytes.fill(0)
    const identity: Identity = { alg: "hmac-sha256", keyId: hmacKeyId(key) }
    return Effect.succeed<SignerService>({
      identity: Option.some(identity),
      key: Option.some(key),
      sign: (hash) => mac.ofHash(hash),
      signText: (t) => mac.hex(t),
      verify: (hash, sig) => equalConstantTime(mac.ofHash(hash), sig),
      verifyText: (t, sig) => equalConstantTime(mac.hex(t), sig),
      checkpoints: Option.none()
    })
  })

/**
 * The unsigned signer: `sig` is `""`, and every check fails (there is nothing to check against).
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: SignerService = {
  identity: Option.none(),
  key: Option.none(),
  sign: () => "",
  signText: () => "",
  verify: () => false,
  verifyText: () => false,
  checkpoints: Option.none()
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layerHmac = (key: Redacted.Redacted<string>): Layer.Layer<Signer, InvalidKey> =>
  Layer.effect(Signer, makeHmac(key))

/**
 * The Config paths a `ConfigError` says are missing, when that is all it says (`Or` of missing
 * alternatives included); `undefined` when it says anything else (a value that is there but
 * invalid, a source that cannot be read).
 */
const missingPaths = (e: ConfigError.ConfigError): ReadonlyArray<string> | undefined => {
  if (!ConfigError.isMissingDataOnly(e)) return undefined
  const paths: Array<string> = []
  const walk = (x: ConfigError.ConfigError): void => {
    if (ConfigError.isMissingData(x)) paths.push(x.path.join("."))
    else if (ConfigError.isAnd(x) || ConfigError.isOr(x)) {
      walk(x.left)
      walk(x.right)
    }
  }
  walk(e)
  return paths
}

/**
 * HMAC signer whose key comes from `Config` (default: the `ACTTRACE_KEY` variable). A key that is
 * not there fails with `MissingKey`, which says what to set (Effect's own words would be
 * `Missing data at ACTTRACE_KEY`); other Config failures stay `ConfigError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHmacConfig = (
  config: Config.Config<Redacted.Redacted<string>> = Config.redacted("ACTTRACE_KEY")
): Layer.Layer<Signer, InvalidKey | MissingKey | ConfigError.ConfigError> =>
  Layer.effect(
    Signer,
    Effect.flatMap(
      Effect.catchIf(
        config,
        (e) => missingPaths(e) !== undefined,
        (e) => Effect.fail(new MissingKey({ variable: [...new Set(missingPaths(e))].join(" or ") }))
      ),
      makeHmac
    )
  )

/**
 * @since 0.1.0
 * @category layers
 */
export const layerNone: Layer.Layer<Signer> = Layer.succeed(Signer, none)
