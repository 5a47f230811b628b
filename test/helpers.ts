import { spawn, spawnSync } from "node:child_process"
import { randomInt } from "node:crypto"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { beforeEach } from "@effect/vitest"
import { buildSync } from "esbuild"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Verify from "../src/Verify.js"

export const ROOT = resolve(import.meta.dirname, "..")
export const BIN = join(ROOT, "bin", "acttrace.js")
/** `../shared` beside the repository; ACTTRACE_SHARED names another place (or none: a clone without it). */
export const SHARED = process.env["ACTTRACE_SHARED"] ? resolve(process.env["ACTTRACE_SHARED"]) : resolve(ROOT, "..", "shared")
export const CONFORMANCE = join(SHARED, "conformance")

/**
 * The shared conformance material sits beside the repository. A user's clone has none: those
 * suites are reported as skipped, by name, with a message (the project's own vectors in
 * test/fixtures/vectors run either way). CI always has it, so there a missing folder fails.
 */
export const hasShared = (): boolean => {
  if (existsSync(join(CONFORMANCE, "cases.json"))) return true
  if (process.env["CI"] === "true") throw new Error(`CI=true but ${CONFORMANCE} is missing`)
  console.warn(`SKIPPED: ${CONFORMANCE} not found; the conformance suites need ../shared beside the repository`)
  return false
}

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}, input?: string): CliResult => {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, ACTTRACE_KEY: "", ...env },
    timeout: 120_000,
    input
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** `cli`, without blocking the test's process: several can run at once. */
export const cliAsync = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<CliResult> =>
  new Promise((ok, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ACTTRACE_KEY: "", ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", fail)
    child.on("close", (code) => ok({ code, stdout, stderr }))
  })

/** Run `f` over `items`, at most `limit` at a time; the results in order. */
export const mapLimit = async <A, B>(items: ReadonlyArray<A>, limit: number, f: (a: A, i: number) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/**
 * How deep the randomized and repeated tests go. The normal suite (`npm test`) runs them at a
 * modest size; `npm run test:long` (ACTTRACE_LONG=1, minutes) at the depth the normal suite used
 * to have and more; `npm run fuzz` (FUZZ_LONG=1, the harnesses, about an hour) at full length.
 * `LONG` is true for both of the longer forms.
 */
export const FUZZ = process.env["FUZZ_LONG"] === "1"
export const LONG = FUZZ || process.env["ACTTRACE_LONG"] === "1"

/**
 * The seed of a test file's randomness. `ACTTRACE_SEED=n` replays a run (the older `FUZZ_SEED`
 * is read too); otherwise the normal suite uses `fixed`, the same every run, and the longer forms
 * a fresh one, printed. Every failing test of the file prints the seed and how to replay it.
 */
export const testSeed = (name: string, fixed: number): number => {
  const given = process.env["ACTTRACE_SEED"] || process.env["FUZZ_SEED"]
  const seed = given ? Number(given) >>> 0 : LONG ? randomInt(2 ** 31) : fixed
  if (LONG || given) console.log(`${name}: seed ${seed}`)
  beforeEach((ctx) => {
    ctx.onTestFailed(() => console.error(`${name}: this run's seed is ${seed}; replay it with ACTTRACE_SEED=${seed}`))
  })
  return seed
}

/** A small seeded generator (mulberry32): the same seed gives the same draws on every machine. */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const bundles = new Map<string, string>()

/**
 * A child-process fixture (test/fixtures/NAME, which loads the built dist/) bundled into one file
 * with esbuild, once per test process: it starts in about a third of the time the module graph
 * takes to load, which is most of what a test that starts many processes spends. Same code, the
 * built library's; the bundle is removed when the process exits.
 */
export const bundledFixture = (name: string): string => {
  const known = bundles.get(name)
  if (known !== undefined) return known
  const dir = mkdtempSync(join(tmpdir(), "acttrace-fixture-"))
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }))
  const outfile = join(dir, name.replace(/\.m?js$/, ".bundle.mjs"))
  buildSync({
    entryPoints: [join(ROOT, "test/fixtures", name)],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    logLevel: "warning",
    // CommonJS dependencies in the bundle call require for Node's own modules
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" }
  })
  bundles.set(name, outfile)
  return outfile
}

export const tempDir = (): { readonly dir: string; readonly cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "acttrace-test-"))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Verify a file through the library with the Node file system. */
export const verifyFile = (path: string, options: Verify.Options = {}) =>
  Effect.runPromise(Verify.fileOutcome(path, options).pipe(Effect.provide(NodeFileSystem.layer)))

export const tagOf = (o: Verify.Outcome): string => (Either.isRight(o.result) ? "ok" : o.result.left._tag)

/** Verify lines held in memory; the verdict's tag. */
export const verdict = (lines: ReadonlyArray<string>, options: Verify.Options = {}): string => {
  const r = Verify.lines(lines, options)
  return Either.isRight(r) ? "ok" : r.left._tag
}

/** The processor time of `f`, in ms, the best of three runs (a busy machine stretches one run). */
export const cpuBest = (f: () => void): number => {
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const start = process.cpuUsage()
    f()
    const used = process.cpuUsage(start)
    best = Math.min(best, (used.user + used.system) / 1000)
  }
  return best
}

/**
 * Random characters drawn from a seed (mulberry32), as a generated key or password has them:
 * shrinking changes the seed and never turns a value into a repeated run (`aaaa…`), which the
 * detectors take for a mask, not a value.
 */
export const randomOf = (alphabet: string, min: number, max: number) =>
  fc.tuple(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min, max })).map(([seed, n]) => {
    let a = seed >>> 0
    let out = ""
    for (let i = 0; i < n; i++) {
      a = (a + 0x6d2b79f5) >>> 0
      let t = Math.imul(a ^ (a >>> 15), 1 | a)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      out += alphabet[((t ^ (t >>> 14)) >>> 0) % alphabet.length]
    }
    return out
  })
