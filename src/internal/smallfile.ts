/**
 * Reading a small file (a key file, a signed note, a proof document) that an operator names on a
 * command line or in the environment, where the name may lead anywhere: a device that never ends
 * (`/dev/zero`, `/dev/urandom`), a named pipe that no process writes to (opening it for reading
 * waits for a writer, for ever), a directory. A reader here never reads past its bound and never
 * waits for ever on an open, so a wrong name is an error in seconds, not a hung process or one
 * filling memory.
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as NFS from "node:fs/promises"
import { fileKind, plainReason } from "./messages.js"

/**
 * How long a named pipe or device may take to give its content. A process substitution
 * (`--key-file <(vault …)`) has its writer from the start; its content may come a little later.
 */
export const PATIENCE = Duration.seconds(10)

/** Why a small file could not be read: a plain sentence, never quoting the content. */
export class SmallFileProblem {
  readonly _tag = "SmallFileProblem"
  constructor(readonly reason: string) {}
}

/**
 * The bytes of `path`, at most `max` of them: a file holding more is refused ("it is too large …")
 * after reading `max + 1` bytes, whatever it is. A directory is refused by name.
 *
 * A regular file is read through `FileSystem`. Anything else (a named pipe, a process
 * substitution's pipe, a device) is read with node:fs, opened non-blocking: a plain open of a named
 * pipe waits in the thread pool, uninterruptibly, until some process opens it for writing (for
 * ever, if none does), and `FileSystem`'s positioned reads fail on a pipe ("invalid seek"). A pipe
 * without a writer then reads as empty; one not at its end within `patience` of the open is
 * refused.
 */
export const readSmallFile = (
  path: string,
  max: number,
  options: { readonly patience?: Duration.DurationInput | undefined } = {}
): Effect.Effect<Uint8Array, SmallFileProblem, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    // stat follows a symbolic link: what matters is what it leads to
    const info = yield* fs.stat(path)
    if (info.type === "Directory") return yield* Effect.fail(new SmallFileProblem(`it is ${fileKind(info.type)}`))
    const buffer = new Uint8Array(max + 1)
    let length = 0
    if (info.type === "File") {
      const file = yield* fs.open(path, { flag: "r" })
      while (length < buffer.length) {
        const got = Number(yield* file.read(buffer.subarray(length)))
        if (got === 0) break
        length += got
      }
    } else {
      const patience = Duration.toMillis(options.patience ?? PATIENCE)
      length = yield* Effect.tryPromise({
        try: (signal) => readSpecial(path, buffer, patience, signal),
        catch: (e) => e instanceof SmallFileProblem ? e : new SmallFileProblem(plainReason(e))
      })
    }
    if (length > max) {
      buffer.fill(0)
      return yield* Effect.fail(new SmallFileProblem(`it is too large (over ${max} bytes)`))
    }
    return buffer.subarray(0, length)
  }).pipe(
    Effect.scoped,
    Effect.mapError((e) => (e instanceof SmallFileProblem ? e : new SmallFileProblem(plainReason(e))))
  )

/** Reads a pipe or device opened non-blocking into `buffer` until its end or the buffer is full. */
const readSpecial = async (path: string, buffer: Uint8Array, patience: number, signal: AbortSignal): Promise<number> => {
  const handle = await NFS.open(path, NFS.constants.O_RDONLY | NFS.constants.O_NONBLOCK)
  try {
    const deadline = Date.now() + patience
    let length = 0
    while (length < buffer.length) {
      try {
        // position null: a plain read(2), which a pipe takes (a positioned pread does not)
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null)
        if (bytesRead === 0) break
        length += bytesRead
      } catch (e) {
        if ((e as { readonly code?: unknown }).code !== "EAGAIN") throw e
        if (signal.aborted) throw new SmallFileProblem("interrupted")
        if (Date.now() > deadline) {
          throw new SmallFileProblem(`nothing more came from it within ${Math.round(patience / 1000)} s (a pipe or device that does not end)`)
        }
        await new Promise((ok) => setTimeout(ok, 10))
      }
    }
    return length
  } finally {
    await handle.close()
  }
}
