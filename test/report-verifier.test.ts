/**
 * The verification the report page runs (src/internal/report-verifier.ts) against the library's
 * own: for the same bytes and keys, `acttraceVerify` (evaluated from `VERIFIER_SOURCE` as the page
 * evaluates it, on node's WebCrypto) must say what `acttrace verify --json` says: ok or the error
 * tag, line, seq, entries, head, signatures, completeness (and with public keys the checkpoints).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { type BrowserVerdict, type BrowserVerify, VERIFIER_SOURCE } from "../src/internal/report-verifier.js"
import { jsonVerdict } from "../src/internal/cli.js"
import * as Verify from "../src/Verify.js"
import { ROOT } from "./helpers.js"

/** The verifier as the page gets it: the source text, evaluated on its own. */
const loadVerifier = (source: string): BrowserVerify => {
  const scope: { acttraceVerify?: BrowserVerify } = {}
  // the source assigns globalThis.acttraceVerify: hand it a globalThis of its own, with the
  // standard objects it uses (node's WebCrypto is the browser's API)
  new Function("globalThis", source)(Object.assign(scope, { crypto: globalThis.crypto }))
  return scope.acttraceVerify!
}
export const acttraceVerify = loadVerifier(VERIFIER_SOURCE)

/** The fields both sides state. */
export interface Said {
  readonly ok: boolean
  readonly result: string
  readonly line?: number | undefined
  readonly seq?: number | undefined
  readonly entries: number
  readonly head: string | null
  readonly signatures: string
  readonly completeness: string
  readonly checkpoints?: string | undefined
  readonly checkpoint_count?: number | undefined
  readonly unsealed_tail?: number | undefined
}

export interface Keys {
  readonly key?: string | undefined
  readonly pubkeys?: ReadonlyArray<string> | undefined
}

/** What `verify --json` prints for these bytes, read back into the common fields. */
export const librarySays = async (bytes: Uint8Array, keys: Keys, fastPath = true): Promise<Said> => {
  const options: Verify.Options = {
    key: keys.key === undefined ? undefined : Redacted.make(keys.key),
    publicKeys: keys.pubkeys === undefined || keys.pubkeys.length === 0 ? undefined : keys.pubkeys,
    fastPath
  }
  const outcome = await Effect.runPromise(Verify.streamOutcome(Stream.make(bytes), options))
  const j = JSON.parse(jsonVerdict(outcome))
  const withCk = options.publicKeys !== undefined
  return j.ok
    ? {
      ok: true,
      result: "Ok",
      entries: j.entries,
      head: j.head,
      signatures: j.signatures,
      completeness: j.completeness,
      ...(withCk ? { checkpoints: j.checkpoints, checkpoint_count: j.checkpoint_count, unsealed_tail: j.unsealed_tail } : {})
    }
    : {
      ok: false,
      result: j.error._tag,
      line: j.error.line,
      seq: j.error.seq ?? undefined,
      entries: j.entries,
      head: j.head,
      signatures: j.signatures,
      completeness: j.completeness
    }
}

export const pageSays = async (bytes: Uint8Array, keys: Keys, asText = true): Promise<Said> => {
  const text = asText ? new TextDecoder("utf-8", { fatal: true }).decode(bytes) : bytes
  const v: BrowserVerdict = await acttraceVerify(text, { key: keys.key, pubkeys: keys.pubkeys })
  const withCk = keys.pubkeys !== undefined && keys.pubkeys.length > 0
  return v.ok
    ? {
      ok: true,
      result: v.result,
      entries: v.entries,
      head: v.head,
      signatures: v.signatures,
      completeness: v.completeness,
      ...(withCk ? { checkpoints: v.checkpoints, checkpoint_count: v.checkpoint_count, unsealed_tail: v.unsealed_tail } : {})
    }
    : {
      ok: false,
      result: v.result,
      line: v.line,
      seq: v.seq,
      entries: v.entries,
      head: v.head,
      signatures: v.signatures,
      completeness: v.completeness
    }
}

const isUtf8 = (b: Uint8Array) => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b)
    return true
  } catch {
    return false
  }
}

/** Both verdicts, the page's given the text when it is UTF-8 (as a page has it) and the bytes otherwise. */
export const both = async (bytes: Uint8Array, keys: Keys) => ({
  library: await librarySays(bytes, keys),
  general: await librarySays(bytes, keys, false),
  page: await pageSays(bytes, keys, isUtf8(bytes))
})

const VECTORS = join(ROOT, "test/fixtures/vectors")
const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((n) => {
    const path = join(dir, n)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

describe("report verifier: the project's vectors", () => {
  const vectorKeys = JSON.parse(readFileSync(join(VECTORS, "cases.json"), "utf8")).keys as Record<string, string>
  const files = filesUnder(VECTORS).filter((f) => f.endsWith(".jsonl")).sort()
  const keyChoices: Array<string | undefined> = [undefined, ...Object.values(vectorKeys)]
  it("finds the vectors", () => {
    expect(files.length).toBeGreaterThan(100)
  })
  for (const file of files) {
    it(`${relative(VECTORS, file)}: the page says what verify --json says, with each key and without`, async () => {
      const bytes = readFileSync(file)
      for (const key of keyChoices) {
        const { library, page } = await both(bytes, { key })
        expect({ key, ...page }).toEqual({ key, ...library })
      }
    })
  }
})

describe("report verifier: the checkpoint vectors, with public keys", () => {
  const dir = join(VECTORS, "checkpoints")
  const doc = JSON.parse(readFileSync(join(dir, "checkpoint-cases.json"), "utf8")) as { hmac_key: string }
  const pub = (name: string) => readFileSync(join(dir, "keys", `${name}.pub`), "utf8")
  const pubkeyChoices: Array<Array<string>> = [[pub("vectors-a")], [pub("vectors-b")], [pub("vectors-a"), pub("vectors-b")], [pub("vectors-stranger")], [pub("vectors-a"), pub("vectors-stranger")]]
  const files = filesUnder(dir).filter((f) => f.endsWith(".jsonl")).sort()
  for (const file of files) {
    it(`${relative(dir, file)}: the page says what verify --json --pubkey says`, async () => {
      const bytes = readFileSync(file)
      for (const key of [undefined, doc.hmac_key]) {
        for (const pubkeys of pubkeyChoices) {
          const { general, library, page } = await both(bytes, { key, pubkeys })
          expect({ key, pubkeys: pubkeys.length, ...page }).toEqual({ key, pubkeys: pubkeys.length, ...general })
          const { entries: _e, head: _h, signatures: _s, ...rest } = library
          expect({ key, pubkeys: pubkeys.length, ...page }).toMatchObject({ key, pubkeys: pubkeys.length, ...rest })
        }
      }
    })
  }
})
