/**
 * What the two conformance suites (test/own-conformance.test.ts, over the HMAC vectors, and
 * test/own-conformance-checkpoints.test.ts, over the public-key ones) do the same way: what a
 * verdict says, the lines `Verify.lines` takes from a vector file, the sample of cases the built
 * executable runs, and how it checks each of them.
 */
import { readFileSync } from "node:fs"
import { expect } from "@effect/vitest"
import { cliAsync, LONG, mapLimit } from "./helpers.js"

/** What a verdict says, in the words of the cases file (and of `--json`). */
export interface Said {
  readonly verdict: string
  readonly line?: number
  readonly seq?: number | null
  readonly entries?: number
  readonly head?: string
  readonly signatures?: string
  readonly completeness?: string
}

/** The file's lines as `Verify.lines` takes them (split at `\n` only; the verifier drops a `\r`). */
export const linesOf = (path: string): Array<Buffer> => {
  const bytes = readFileSync(path)
  const out: Array<Buffer> = []
  let start = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      out.push(bytes.subarray(start, i))
      start = i + 1
    }
  }
  if (start < bytes.length) out.push(bytes.subarray(start))
  return out
}

/**
 * The cases the built executable runs: the first of each kind (`kindOf`; undefined leaves a case
 * out), or every case not left out under ACTTRACE_LONG=1. The executable adds only its wiring
 * (bin, bundle, arguments, exit code) to the code the in-process runs check case by case.
 */
export const executableSample = <C>(cases: ReadonlyArray<C>, kindOf: (c: C) => string | undefined): Array<C> => {
  const kinds = new Map<string, C>()
  for (const c of cases) {
    const kind = kindOf(c)
    if (kind !== undefined && !kinds.has(kind)) kinds.set(kind, c)
  }
  return LONG ? cases.filter((c) => kindOf(c) !== undefined) : [...kinds.values()]
}

/**
 * Runs each case through the built executable (two at a time) and expects a verdict on stdout,
 * what `saidByCli` reads of it (with the exit code) equal to `want`, and no stack trace on stderr.
 */
export const expectExecutable = async <C>(
  sample: ReadonlyArray<C>,
  argsOf: (c: C) => Array<string>,
  saidByCli: (code: number | null, stdout: string) => unknown,
  want: (c: C) => unknown,
  label: (c: C) => string
): Promise<void> => {
  const results = await mapLimit(sample, 2, (c) => cliAsync(argsOf(c)))
  sample.forEach((c, i) => {
    const r = results[i]!
    expect(r.stdout, `${label(c)}: ${r.stderr}`).not.toBe("")
    expect(saidByCli(r.code, r.stdout), `${label(c)}\n${r.stderr}`).toEqual(want(c))
    expect(r.stderr, label(c)).not.toMatch(/\n\s+at /)
  })
}
