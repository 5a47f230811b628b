/**
 * Real paths as the kernel resolves them.
 *
 * Node's `fs.realpath` (and so `FileSystem.realPath`) resolves `..` in the text before it
 * follows links: `dl/../x` where `dl` is a symlink becomes `./x`, while the shell and `open(2)`
 * go to the parent of the link's target. The store names its lock after a log's real path and
 * export compares targets by real path, so both must agree with the file the kernel opens:
 * `realpath.native` (realpath(3)) does.
 */
import * as nodeFs from "node:fs"
import * as Effect from "effect/Effect"

/** Why a real path could not be had; `reason` as `@effect/platform` names it for a missing file. */
export interface RealPathError {
  readonly reason: "NotFound" | "Unknown"
  readonly description: string
  readonly message: string
}

/** The real path of `path`, resolved by the kernel. */
export const realPath = (path: string): Effect.Effect<string, RealPathError> =>
  Effect.async<string, RealPathError>((resume) => {
    nodeFs.realpath.native(path, (err, resolved) => {
      if (err === null) resume(Effect.succeed(resolved))
      else resume(Effect.fail({ reason: err.code === "ENOENT" ? "NotFound" : "Unknown", description: err.message, message: err.message }))
    })
  })
