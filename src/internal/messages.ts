/**
 * Error text for people: one line, without the error's tag in front and without the platform's
 * internals (`NotFound: FileSystem.stat (19): ENOENT: no such file or directory, stat 'x'` says
 * "no such file or directory"). The CLI prints what this returns after `error: `; `Pack` builds
 * its reasons with it.
 * @internal
 */

import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Verify from "../Verify.js"

/**
 * A platform `SystemError` or `BadArgument` message (`Reason: Module.method (path or fd):
 * description`), at the end of a text, and Node's own `ECODE: text, syscall 'path'`.
 */
const PLATFORM =
  /(?:^|(?<=: ))[A-Z][A-Za-z]*: (?:Clipboard|Command|FileSystem|KeyValueStore|Path|Stream|Terminal)\.[A-Za-z]+(?: \([^()]*\))?(?:: ([^\n]*))?$/
const ERRNO = /^E[A-Z0-9]+: /
const NODE = /(?:^|(?<=: ))E[A-Z0-9]+: [^\n]*$/
const SYSCALL = /, [a-z_]+(?: '[^']*')?(?: -> '[^']*')?$/

/** "NotFound" → "not found" */
const words = (reason: string): string => reason.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()

/** Node's `ENOENT: no such file or directory, stat 'x'` → `no such file or directory`. */
const errnoText = (text: string): string => text.replace(ERRNO, "").replace(SYSCALL, "")

/**
 * A text with a platform error at its end made plain: `open x: NotFound: FileSystem.stat (x):
 * ENOENT: no such file or directory, stat 'x'` → `open x: no such file or directory`.
 */
export const plainText = (text: string): string => {
  let one = text.replace(/\s*\n\s*/g, " ").trim()
  const m = PLATFORM.exec(one)
  if (m !== null) {
    const reason = one.slice(m.index).split(":")[0]!
    one = one.slice(0, m.index) + (m[1] === undefined || m[1] === "" ? words(reason) : m[1])
  }
  // Node's own text, bare or left by the platform's
  const n = NODE.exec(one)
  return n === null ? one : one.slice(0, n.index) + errnoText(n[0])
}

interface Tagged {
  readonly _tag: string
  readonly message: string
}

const isTagged = (e: unknown): e is Tagged =>
  e !== null && typeof e === "object" && typeof (e as { _tag?: unknown })._tag === "string" && typeof (e as { message?: unknown }).message === "string"

/**
 * Why something failed, for a message that names the path itself (`cannot read X: …`): a
 * platform error as what happened only ("no such file or directory"), anything else as
 * `plainMessage` has it.
 */
export const plainReason = (e: unknown): string => {
  if (isTagged(e) && (e._tag === "SystemError" || e._tag === "BadArgument")) {
    const x = e as Tagged & { readonly description?: unknown; readonly reason?: unknown }
    if (typeof x.description === "string" && x.description !== "") return errnoText(x.description)
    if (typeof x.reason === "string") return words(x.reason)
  }
  return plainMessage(e)
}

/**
 * One plain line for any failure: a platform error as "path: what happened", a tagged error's
 * message without its tag in front, anything else as its message or text.
 */
export const plainMessage = (e: unknown): string => {
  if (isTagged(e)) {
    const x = e as Tagged & { readonly pathOrDescriptor?: unknown; readonly description?: unknown; readonly reason?: unknown; readonly module?: unknown }
    if ((x._tag === "SystemError" || x._tag === "BadArgument") && typeof x.module === "string") {
      const what = typeof x.description === "string" && x.description !== "" ? errnoText(x.description) : typeof x.reason === "string" ? words(x.reason) : "failed"
      return typeof x.pathOrDescriptor === "string" ? `${x.pathOrDescriptor}: ${what}` : what
    }
    const m = x.message.startsWith(`${x._tag}: `) ? x.message.slice(x._tag.length + 2) : x.message
    return plainText(m === "" ? x._tag : m)
  }
  if (e instanceof Error) return plainText(e.message === "" ? e.name : e.message)
  return plainText(String(e))
}

/** A file type in plain words, for messages (`Directory` → `a directory`). */
export const fileKind = (type: FileSystem.File.Type): string => {
  switch (type) {
    case "File":
      return "a regular file"
    case "Directory":
      return "a directory"
    case "SymbolicLink":
      return "a symbolic link that leads to no file (a loop)"
    case "CharacterDevice":
      return "a character device"
    case "BlockDevice":
      return "a block device"
    case "FIFO":
      return "a named pipe (FIFO)"
    case "Socket":
      return "a socket"
    default:
      return "not a regular file"
  }
}

/** The one-line verdict `verify` prints for an input that verifies (and `inspect`, the report). */
export const okText = (r: Verify.Report): string =>
  `ok: ${r.entries} ${r.entries === 1 ? "entry" : "entries"}, head ${r.head.slice(0, 12)}… (signatures ${r.signatures}; completeness: ${r.completeness})${
    r.checkpoints === "verified"
      ? `; checkpoints verified: ${r.checkpointCount}, unsealed tail ${r.unsealedTail}`
      : r.checkpoints === "absent"
      ? `; no signed checkpoint (unsealed tail ${r.unsealedTail})`
      : ""
  }`

/**
 * A verification failure as one line that names it once, built from its fields (never from its
 * `message`, which holds no tag): `EditDetected at line 18 (seq 16): content does not match its
 * hash`, `MalformedLine: no entry at all` (line 0: no line), `Unreadable: pack.jsonl: no such file or
 * directory`, `PublicKeyInvalid: publicKeys[0]: …`. The CLI's verdict and `--json` message, and the reason of `Chain.LogInvalid`.
 */
export const verdictText = (e: Verify.VerifyError): string => {
  if (e._tag === "Unreadable") return `Unreadable: ${e.path}: ${e.reason}`
  // (not located in the input: which of the keys given, and why)
  if (e._tag === "PublicKeyInvalid") return `PublicKeyInvalid: ${e.message}`
  const where = e.line === 0 ? "" : e.seq === null ? ` at line ${e.line}` : ` at line ${e.line} (seq ${e.seq})`
  return `${e._tag}${where}: ${e.reason}`
}
