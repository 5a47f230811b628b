/**
 * Worker thread of `Verify.fileParallel`: verifies one byte range and posts its summary.
 * Bundled on its own into dist/verify-worker.bundle.js.
 * @internal
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { parentPort, workerData } from "node:worker_threads"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { segment } from "../Verify.js"

interface Job {
  readonly path: string
  readonly start: number
  readonly end: number
  readonly key: string | undefined
  readonly fastPath: boolean
  readonly maxLineBytes: number | undefined
}

const job = workerData as Job
Effect.runPromise(
  segment(job.path, { start: job.start, end: job.end }, {
    key: job.key === undefined ? undefined : Redacted.make(job.key),
    fastPath: job.fastPath,
    maxLineBytes: job.maxLineBytes
  }).pipe(Effect.provide(NodeFileSystem.layer))
).then((summary) => parentPort?.postMessage(summary))
