/**
 * Entry signatures (FORMAT A.3) with a key id (B.1), and the Ed25519 key that signs checkpoints
 * (B.2) as C2SP signed notes, as an Effect service.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { sha256Hex } from "./Hash.js"
import { equalConstantTime, FastHmac, keyBytesOf } from "./internal/hmac.js"
import { fileKind, plainReason } from "./internal/messages.js"
import * as Note from "./internal/note.js"
import { readSmallFile } from "./internal/smallfile.js"
import { NoteKeyInvalid } from "./internal/note.js"

export {
  /**
   * A signed-note key text that cannot be used (`kind`: `signer` or `verifier`, and why): what
   * `makeEd25519` and its layers fail with for a bad key given as text. The reason never quotes
   * the text.
   *
   * @since 0.1.0
   * @category errors
   */
  NoteKeyInvalid
} from "./internal/note.js"

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
  variable: Schema.String,
  /** which key is missing: the HMAC passphrase (`layerHmacConfig`) or an Ed25519 signer key (`layerEd25519Config`) */
  alg: Schema.optionalWith(Schema.Literal("hmac-sha256", "ed25519"), { default: () => "hmac-sha256" as const })
}) {
  override get message(): string {
    return this.alg === "ed25519"
      ? `no checkpoint signing key: ${this.variable} is not set. Set one to an Ed25519 signer key file (acttrace keygen --out DIR writes one) or to the key's text, give Signer.layerEd25519 a key, or use Signer.layerHmacConfig or Signer.layerNone for a log without checkpoints`
      : `no signing key: ${this.variable} is not set. Set ${this.variable} to the HMAC passphrase (or read it from a file: the acttrace CLI takes --key-file F), give Signer.layerHmac a key, or provide Signer.layerNone for an unsigned log`
  }
}

/**
 * A checkpoint origin that cannot be one: the first line of a C2SP `tlog-checkpoint` must be
 * non-empty text with no control character, no Unicode space and no `+`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOrigin extends Schema.TaggedError<InvalidOrigin>()("InvalidOrigin", {
  origin: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid checkpoint origin ${JSON.stringify(this.origin)}: ${this.reason}`
  }
}

/**
 * A key file that cannot be read or does not hold exactly one key of its `kind` (C2SP signed-note
 * text, one optional final line end). `path` names the file; the reason never quotes its content.
 *
 * @since 0.1.0
 * @category errors
 */
export class KeyFileInvalid extends Schema.TaggedError<KeyFileInvalid>()("KeyFileInvalid", {
  path: Schema.String,
  kind: Schema.Literal("signer", "verifier"),
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.kind} key file ${this.path}: ${this.reason}`
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
    // an Ed25519 signing key taken for a passphrase would be handed to every HMAC verifier, who
    // could then sign checkpoints: refused (it is recognizable by its C2SP prefix)
    if (text.startsWith("PRIVATE+KEY+")) {
      return Effect.fail(
        new InvalidKey({
          reason: "this is an Ed25519 signing key (a .key file of acttrace keygen), not an HMAC passphrase: it signs checkpoints (Signer.layerEd25519, --private-key) and must not be shared with verifiers; use a passphrase of its own for HMAC"
        })
      )
    }
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

/**
 * The checkpoint origin of a system (the first line of its checkpoints, FORMAT B.2) when no
 * override is given: `acttrace/` and the system name URI-encoded, so that any name gives a valid
 * origin (no space, `+` or control character) and two names never give the same origin. A lone
 * surrogate, which has no UTF-8 form to encode, is read as U+FFFD.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const checkpointOrigin = (system: string): string => "acttrace/" + encodeURIComponent(system.toWellFormed())

/** Why `origin` cannot be a checkpoint's origin line, if it cannot. */
const originProblem = (origin: string): string | undefined => {
  if (origin.length === 0) return "it is empty"
  if (!origin.isWellFormed()) return "it is not valid text (a lone surrogate)"
  if (/[\u0000-\u001f\u007f]/.test(origin)) return "it holds a control character (a newline included)"
  // the spec's "neither Unicode spaces nor plus" (White_Space: \s, and U+0085 that \s leaves out)
  if (/[\s\u0085]/u.test(origin)) return "it holds a space"
  if (origin.includes("+")) return "it holds '+'"
  return undefined
}

/** What a key text is once a key file's one final line end is taken off, or why it is no key. */
const keyTextOf = (raw: string): Either.Either<string, string> => {
  if (raw.length === 0) return Either.left("it is empty")
  const text = raw.endsWith("\r\n") ? raw.slice(0, -2) : raw.endsWith("\n") ? raw.slice(0, -1) : raw
  if (text.length === 0) return Either.left("it is empty (only a line end)")
  if (text.startsWith("\ufeff")) return Either.left("it starts with a byte-order mark (save it as UTF-8 without one)")
  if (/[\r\n]/.test(text)) return Either.left("it holds a line break other than one at its end (a key is one line)")
  return Either.right(text)
}

/** A key name a signed note can carry: note.ts checks Go's rules, which let control characters by. */
const nameProblem = (name: string): string | undefined =>
  /[\u0000-\u001f]/.test(name) ? "the key name holds a control character, which a signed note cannot carry" : undefined

/**
 * Parses a signer key text (one final line end allowed) into a note signer, once. A verifier key
 * given instead is said to be one. Reasons never quote the text.
 */
const parseSigner = (raw: string): Effect.Effect<Note.Signer, NoteKeyInvalid> =>
  Effect.suspend(() => {
    const fail = (reason: string) => Effect.fail(new NoteKeyInvalid({ kind: "signer", reason }))
    const text = keyTextOf(raw)
    if (Either.isLeft(text)) return fail(text.left)
    if (!text.right.startsWith("PRIVATE+KEY+") && Either.isRight(Effect.runSync(Effect.either(Note.parseVerifierKey(text.right))))) {
      return fail("it is a verifier (public) key, not a signer (private) key")
    }
    return Effect.flatMap(Note.parseSignerKey(text.right), (signer) => {
      const bad = nameProblem(signer.name)
      return bad === undefined ? Effect.succeed(signer) : fail(bad)
    })
  })

/** Parses a verifier key text (one final line end allowed); a signer key given instead is said to be one. */
const parseVerifier = (raw: string): Effect.Effect<Note.Verifier, NoteKeyInvalid> =>
  Effect.suspend(() => {
    const fail = (reason: string) => Effect.fail(new NoteKeyInvalid({ kind: "verifier", reason }))
    const text = keyTextOf(raw)
    if (Either.isLeft(text)) return fail(text.left)
    if (text.right.startsWith("PRIVATE+KEY+")) return fail("it is a signer (private) key, not a verifier (public) key: give the .pub file")
    return Note.parseVerifierKey(text.right)
  })

/**
 * Longest key file read: a key text is under 200 bytes; the bound keeps a wrong path (a log, a
 * device) from being read whole.
 */
const MAX_KEY_FILE = 4096

/**
 * The text of a key file, read as bytes (at most MAX_KEY_FILE + 1 of them) and decoded strictly.
 * A name that leads to a device that never ends or a named pipe nobody writes to is refused, never
 * read for ever or waited on (internal/smallfile).
 */
const readKeyText = (path: string, kind: "signer" | "verifier") =>
  Effect.gen(function*() {
    const bytes = yield* readSmallFile(path, MAX_KEY_FILE).pipe(
      Effect.mapError((e) => new KeyFileInvalid({ path, kind, reason: e.reason.startsWith("it is too large") ? `it is too large for a key file (over ${MAX_KEY_FILE} bytes)` : e.reason.startsWith("it is a directory") ? "it is a directory, not a key file" : e.reason }))
    )
    try {
      const decoded = Either.try(() => new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes))
      if (Either.isLeft(decoded)) return yield* Effect.fail(new KeyFileInvalid({ path, kind, reason: "it is not UTF-8 text" }))
      return decoded.right
    } finally {
      bytes.fill(0)
    }
  })

/** A signer key file's text and the signer it holds, parsed once. */
const readSigner = (path: string): Effect.Effect<{ readonly text: string; readonly signer: Note.Signer }, KeyFileInvalid, FileSystem.FileSystem> =>
  Effect.flatMap(readKeyText(path, "signer"), (raw) =>
    parseSigner(raw).pipe(
      Effect.map((signer) => ({ text: Either.getOrThrow(keyTextOf(raw)), signer })),
      Effect.mapError((e) => new KeyFileInvalid({ path, kind: "signer", reason: e.reason }))
    ))

/**
 * Reads a signer key file (C2SP signed-note `PRIVATE+KEY+name+hash+base64`, as `acttrace keygen`
 * and Go's sumdb/note write it) and checks the key: its text, without the file's one final `\n`
 * or `\r\n`, as a Redacted. Anything else (an empty file, more than one line, a verifier key, a
 * damaged key, bytes that are not UTF-8, a file that cannot be read) is `KeyFileInvalid` naming
 * the file; no message quotes its content.
 *
 * @since 0.1.0
 * @category keys
 */
export const readSignerKeyFile = (path: string): Effect.Effect<Redacted.Redacted<string>, KeyFileInvalid, FileSystem.FileSystem> =>
  Effect.map(readSigner(path), ({ text }) => Redacted.make(text))

/**
 * Reads a verifier key file (C2SP signed-note `name+hash+base64`, a `.pub` file of `acttrace
 * keygen`) and checks the key: its text, without the file's one final `\n` or `\r\n`. Anything
 * else is `KeyFileInvalid` naming the file (a signer key is said to be one, never quoted).
 *
 * @since 0.1.0
 * @category keys
 */
export const readVerifierKeyFile = (path: string): Effect.Effect<string, KeyFileInvalid, FileSystem.FileSystem> =>
  Effect.flatMap(readKeyText(path, "verifier"), (raw) =>
    parseVerifier(raw).pipe(
      Effect.map((v) => v.text),
      Effect.mapError((e) => new KeyFileInvalid({ path, kind: "verifier", reason: e.reason }))
    ))

/**
 * The checkpoint signer of a parsed key. The private key lives only in the closure of `sign`
 * (a node:crypto KeyObject), so nothing the service shows, prints or serializes holds it.
 */
const checkpointSigner = (
  key: Note.Signer,
  origin: Option.Option<string>,
  previous: Option.Option<CheckpointSigner>
): CheckpointSigner => ({
  alg: "ed25519",
  name: key.name,
  keyId: key.keyId,
  verifierKey: key.verifier.text,
  origin,
  previous,
  signNote: (body) => {
    // the Chain signs bodies formatCheckpoint wrote, which are always valid note texts; any other
    // body is a bug of the caller, thrown rather than signed
    const note = Effect.runSync(Effect.either(Note.sign(body, [key])))
    if (Either.isLeft(note)) throw note.left
    return note.right
  }
})

/** The signer service over parsed keys: the checks that need both keys, then HMAC if given. */
const buildEd25519 = (
  current: Note.Signer,
  previous: Option.Option<Note.Signer>,
  hmac: Option.Option<Redacted.Redacted<string>>,
  origin: Option.Option<string>
): Effect.Effect<SignerService, InvalidKey | InvalidOrigin> =>
  Effect.gen(function*() {
    if (Option.isSome(origin)) {
      const problem = originProblem(origin.value)
      if (problem !== undefined) return yield* Effect.fail(new InvalidOrigin({ origin: origin.value, reason: problem }))
    }
    // the same key material under any name: a "rotation" to it would vouch for nothing new, and
    // would hide that the key was never changed
    if (Option.isSome(previous) && Buffer.compare(previous.value.verifier.publicKey, current.verifier.publicKey) === 0) {
      return yield* Effect.fail(
        new InvalidKey({ reason: "the previous signing key is the same Ed25519 key as the signing key: a key rotation needs a new key" })
      )
    }
    const entries = Option.isSome(hmac) ? yield* makeHmac(hmac.value) : none
    const checkpoints = checkpointSigner(current, origin, Option.map(previous, (p) => checkpointSigner(p, origin, Option.none())))
    return { ...entries, checkpoints: Option.some(checkpoints) }
  })

/**
 * Options of `makeEd25519` and `layerEd25519`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ed25519Options {
  /** an HMAC passphrase: entries are HMAC-signed too (FORMAT A.3), exactly as with `layerHmac` */
  readonly hmac?: Redacted.Redacted<string> | undefined
  /** the signer key this one replaces (key rotation): it signs the checkpoint that vouches for the new key */
  readonly previous?: Redacted.Redacted<string> | undefined
  /** the checkpoint origin, instead of `checkpointOrigin(system)` */
  readonly origin?: string | undefined
}

/** `reason`, said of the key it is about. */
const about = (what: string) => (e: NoteKeyInvalid): NoteKeyInvalid => new NoteKeyInvalid({ kind: e.kind, reason: `${what}: ${e.reason}` })

/**
 * A signer whose checkpoints (FORMAT B.2) are C2SP signed notes under an Ed25519 key, given as
 * its signer key text (`PRIVATE+KEY+name+hash+base64`, one final line end allowed, as in a key
 * file). Entries are signed with HMAC when `hmac` is given, else not at all (`identity` is then
 * `None`). The keys are parsed here, once; a bad key is `NoteKeyInvalid` (never quoting it), a
 * bad HMAC key or a `previous` that is the same key `InvalidKey`, a bad `origin` `InvalidOrigin`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeEd25519 = (
  signerKey: Redacted.Redacted<string>,
  options?: Ed25519Options | undefined
): Effect.Effect<SignerService, InvalidKey | NoteKeyInvalid | InvalidOrigin> =>
  Effect.gen(function*() {
    const current = yield* parseSigner(Redacted.value(signerKey))
    const previous = options?.previous === undefined
      ? Option.none()
      : Option.some(yield* Effect.mapError(parseSigner(Redacted.value(options.previous)), about("the previous key")))
    return yield* buildEd25519(current, previous, Option.fromNullable(options?.hmac), Option.fromNullable(options?.origin))
  })

/**
 * The `Signer` of `makeEd25519`: Ed25519 checkpoints, HMAC entry signatures when `hmac` is given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEd25519 = (
  signerKey: Redacted.Redacted<string>,
  options?: Ed25519Options | undefined
): Layer.Layer<Signer, InvalidKey | NoteKeyInvalid | InvalidOrigin> => Layer.effect(Signer, makeEd25519(signerKey, options))

/**
 * Where `layerEd25519Config` finds its keys; every field is optional and defaults to the
 * environment variable named beside it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ed25519ConfigOptions {
  /** the signer key text (default `ACTTRACE_SIGNING_KEY`) */
  readonly signingKey?: Config.Config<Redacted.Redacted<string>> | undefined
  /** the path of a signer key file (default `ACTTRACE_SIGNING_KEY_FILE`) */
  readonly signingKeyFile?: Config.Config<string> | undefined
  /** the key being rotated away from, as text (default `ACTTRACE_PREVIOUS_SIGNING_KEY`; missing: none) */
  readonly previousSigningKey?: Config.Config<Redacted.Redacted<string>> | undefined
  /** ... or as a key file (default `ACTTRACE_PREVIOUS_SIGNING_KEY_FILE`; missing: none) */
  readonly previousSigningKeyFile?: Config.Config<string> | undefined
  /** the HMAC passphrase for entry signatures (default `Config.option` of `ACTTRACE_KEY`) */
  readonly hmac?: Config.Config<Option.Option<Redacted.Redacted<string>>> | undefined
  /** a checkpoint origin override (default none: the origin derived from the system name) */
  readonly origin?: Config.Config<Option.Option<string>> | undefined
}

/** The value of a Config, or the paths it found missing (only missing data; other failures stay). */
const lookup = <A>(config: Config.Config<A>): Effect.Effect<Either.Either<A, ReadonlyArray<string>>, ConfigError.ConfigError> =>
  Effect.catchIf(
    Effect.map(config, Either.right),
    (e) => missingPaths(e) !== undefined,
    (e) => Effect.succeed(Either.left([...new Set(missingPaths(e))]))
  )

/**
 * The paths a Config reads, found by asking it of an empty provider (a Config that is given its
 * value does not say where it came from); `fallback` when it names none.
 */
const pathsOf = (config: Config.Config<unknown>, fallback: string): string =>
  Effect.runSync(
    lookup(config).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
      Effect.map(Either.match({ onLeft: (paths) => (paths.length > 0 ? paths.join(" or ") : fallback), onRight: () => fallback })),
      Effect.orElseSucceed(() => fallback)
    )
  )

/**
 * A signer key from a text Config or a file Config: `None` when both are missing, `InvalidKey`
 * when both are there (which one was meant?), the parse failures naming where the key came from.
 */
const signerFrom = (text: Config.Config<Redacted.Redacted<string>>, file: Config.Config<string>, what: string) =>
  Effect.gen(function*() {
    const t = yield* lookup(text)
    const f = yield* lookup(file)
    if (Either.isRight(t) && Either.isRight(f)) {
      return yield* Effect.fail(
        new InvalidKey({
          reason: `both ${pathsOf(text, `the ${what} text`)} and ${pathsOf(file, `the ${what} file`)} are set: set one`
        })
      )
    }
    if (Either.isRight(t)) {
      const name = pathsOf(text, `the ${what}`)
      return Either.right(Option.some(yield* Effect.mapError(parseSigner(Redacted.value(t.right)), about(name))))
    }
    if (Either.isRight(f)) return Either.right(Option.some((yield* readSigner(f.right)).signer))
    return Either.left([...t.left, ...f.left])
  })

/**
 * `layerEd25519` with its keys from `Config`: the signer key as text (`ACTTRACE_SIGNING_KEY`) or
 * as a key file path (`ACTTRACE_SIGNING_KEY_FILE`), one of the two; the key being rotated away
 * from likewise (`ACTTRACE_PREVIOUS_SIGNING_KEY(_FILE)`, optional); an HMAC passphrase for entry
 * signatures (`ACTTRACE_KEY`, optional). Every source can be another Config (`options`).
 *
 * No signer key is `MissingKey` naming both places; both given is `InvalidKey`; a key file that
 * cannot be used is `KeyFileInvalid` naming it; a key text that cannot be used `NoteKeyInvalid`
 * naming its variable. Key files are read through the platform `FileSystem`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEd25519Config = (
  options?: Ed25519ConfigOptions | undefined
): Layer.Layer<
  Signer,
  InvalidKey | MissingKey | NoteKeyInvalid | KeyFileInvalid | InvalidOrigin | ConfigError.ConfigError,
  FileSystem.FileSystem
> =>
  Layer.effect(
    Signer,
    Effect.gen(function*() {
      const current = yield* signerFrom(
        options?.signingKey ?? Config.redacted("ACTTRACE_SIGNING_KEY"),
        options?.signingKeyFile ?? Config.string("ACTTRACE_SIGNING_KEY_FILE"),
        "signing key"
      )
      if (Either.isLeft(current) || Option.isNone(current.right)) {
        const paths = Either.isLeft(current) ? current.left : []
        return yield* Effect.fail(new MissingKey({ variable: paths.join(" or "), alg: "ed25519" }))
      }
      const previous = yield* signerFrom(
        options?.previousSigningKey ?? Config.redacted("ACTTRACE_PREVIOUS_SIGNING_KEY"),
        options?.previousSigningKeyFile ?? Config.string("ACTTRACE_PREVIOUS_SIGNING_KEY_FILE"),
        "previous signing key"
      )
      const hmac = yield* (options?.hmac ?? Config.option(Config.redacted("ACTTRACE_KEY")))
      const origin = yield* (options?.origin ?? Config.succeed(Option.none()))
      return yield* buildEd25519(current.right.value, Either.getOrElse(previous, () => Option.none()), hmac, origin)
    })
  )
