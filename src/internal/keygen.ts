/**
 * `acttrace keygen`: a new Ed25519 key pair for signed checkpoints, written as the C2SP
 * signed-note key files Go's `golang.org/x/mod/sumdb/note` writes (FORMAT B.1–B.2), so other C2SP
 * tools read them:
 * - `DIR/NAME.key`: `PRIVATE+KEY+name+hash+base64(0x01 || seed)` and `\n`, mode 0600, created with
 *   `wx` (never overwritten, never through a symbolic link);
 * - `DIR/NAME.pub`: `name+hash+base64(0x01 || public key)` and `\n`, mode 0644.
 *
 * The private key is never returned or printed: only where it is.
 *
 * @since 0.1.0
 * @internal
 */
import { join } from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { fileKind, plainReason } from "./messages.js"
import * as Note from "./note.js"

export {
  /**
   * The key-file readers, for the CLI (`--pubkey`, `--private-key`) and `Signer.layerEd25519Config`.
   *
   * @since 0.1.0
   * @category keys
   */
  KeyFileInvalid,
  readSignerKeyFile,
  readVerifierKeyFile
} from "../Signer.js"

/**
 * A key pair that could not be written: `path` is the directory or file concerned.
 *
 * @since 0.1.0
 * @category errors
 */
export class KeygenError extends Schema.TaggedError<KeygenError>()("KeygenError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot write a key pair to ${this.path}: ${this.reason}`
  }
}

/**
 * What `keygen` wrote: the two paths, and the verifier key text (public, to hand out).
 *
 * @since 0.1.0
 * @category models
 */
export interface Keygen {
  readonly signerKeyPath: string
  readonly verifierKeyPath: string
  readonly verifierKey: string
}

/** The longest key name keygen takes: NAME.key within the usual 255-byte file name limit. */
const MAX_NAME_BYTES = 251

/** Why `name` cannot name a key written by keygen, if it cannot. */
export const nameProblem = (name: string): string | undefined => {
  if (!Note.isValidName(name)) return "it must be non-empty text without spaces or '+'"
  // a signed note cannot carry them, so the key could never sign (Go's names allow them)
  if (/[\u0000-\u001f\u007f]/.test(name)) return "it holds a control character"
  // the name is also the files' name: it must not lead out of the directory
  if (/[/\\]/.test(name)) return "it holds '/' or '\\', and it names the key files"
  // NAME.key must fit a file name (255 bytes on the usual file systems): found here, before any
  // directory is made, rather than as "name too long" from the file system
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) return `it is ${Buffer.byteLength(name, "utf8")} bytes long: at most ${MAX_NAME_BYTES}, since NAME.key must be a file name`
  return undefined
}

/**
 * Writes `text` to a new file at `path` with `mode`: `wx` (fails if anything is there, a symbolic
 * link included), flushed to disk, then chmod to exactly `mode` (the umask only narrows the mode
 * given at creation). Creation already uses `mode`, so the private key is never readable by others,
 * even for an instant. A file this created and could not finish is removed; a file that was there
 * is never touched.
 */
const writeNew = (fs: FileSystem.FileSystem, path: string, text: string, mode: number) =>
  Effect.scoped(
    Effect.gen(function*() {
      const file = yield* fs.open(path, { flag: "wx", mode })
      const bytes = new TextEncoder().encode(text)
      yield* Effect.gen(function*() {
        yield* file.writeAll(bytes)
        yield* file.sync
        yield* fs.chmod(path, mode)
      }).pipe(
        Effect.ensuring(Effect.sync(() => bytes.fill(0))),
        Effect.tapError(() => fs.remove(path).pipe(Effect.ignore))
      )
    })
  )

/** `e` as KeygenError at `path`: an existing file said plainly, others in the platform's words. */
const failedAt = (path: string) => (e: unknown): KeygenError =>
  new KeygenError({
    path,
    reason: typeof e === "object" && e !== null && (e as { reason?: unknown }).reason === "AlreadyExists"
      ? "it exists already (keygen never overwrites a key: choose another name or directory)"
      : plainReason(e)
  })

/**
 * Makes a new Ed25519 key pair named `name` (default `acttrace`) and writes `out/NAME.key` (the
 * signer key, mode 0600) and `out/NAME.pub` (the verifier key, mode 0644). `out` must be an
 * existing directory; if either file exists nothing is written (`KeygenError`), and a key file is
 * never left without its `.pub`. A name that cannot be a key name or a file name is
 * `NoteKeyInvalid`. Returns the paths and the verifier key text, never the private key.
 *
 * @since 0.1.0
 * @category keys
 */
export const keygen = (options: {
  readonly out: string
  readonly name?: string | undefined
}): Effect.Effect<Keygen, KeygenError | Note.NoteKeyInvalid, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const name = options.name ?? "acttrace"
    const problem = nameProblem(name)
    if (problem !== undefined) {
      return yield* Effect.fail(new Note.NoteKeyInvalid({ kind: "signer", reason: `the key name ${JSON.stringify(name)} cannot be used: ${problem}` }))
    }
    const out = options.out
    const info = yield* fs.stat(out).pipe(
      Effect.mapError((e) =>
        new KeygenError({
          path: out,
          reason: (e as { reason?: unknown }).reason === "NotFound" ? "the directory does not exist (create it first, with mode 0700)" : plainReason(e)
        })
      )
    )
    if (info.type !== "Directory") return yield* Effect.fail(new KeygenError({ path: out, reason: `it is not a directory but ${fileKind(info.type)}` }))
    const signerKeyPath = join(out, `${name}.key`)
    const verifierKeyPath = join(out, `${name}.pub`)
    // refuse before writing anything when either file is there (each is also created with `wx`,
    // which holds against one appearing meanwhile); a dangling symbolic link counts as there
    for (const path of [signerKeyPath, verifierKeyPath]) {
      if (yield* fs.access(path).pipe(Effect.as(true), Effect.orElse(() => fs.readLink(path).pipe(Effect.as(true))), Effect.orElseSucceed(() => false))) {
        return yield* Effect.fail(failedAt(path)({ reason: "AlreadyExists" }))
      }
    }
    const pair = yield* Note.generate(name)
    yield* writeNew(fs, signerKeyPath, pair.signerKey + "\n", 0o600).pipe(Effect.mapError(failedAt(signerKeyPath)))
    yield* writeNew(fs, verifierKeyPath, pair.verifierKey + "\n", 0o644).pipe(
      Effect.mapError(failedAt(verifierKeyPath)),
      // no private key without its public half (a .pub that appeared meanwhile, a full disk)
      Effect.tapError(() => fs.remove(signerKeyPath).pipe(Effect.ignore))
    )
    return { signerKeyPath, verifierKeyPath, verifierKey: pair.verifierKey }
  })
