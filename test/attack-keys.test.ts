/**
 * Key files from a careless or hostile environment, through the library readers the Signer layers
 * and the CLI use: a name leading to a named pipe nobody writes to, to /dev/zero, or to a pipe with
 * its writer (a process substitution). Never a hang, never an endless read.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { keygen } from "../src/internal/keygen.js"
import * as Signer from "../src/Signer.js"

const dir = mkdtempSync(join(tmpdir(), "acttrace-attack-keys-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flip(effect)

describe("key files that are not files", () => {
  it.effect("a named pipe nobody writes to: KeyFileInvalid at once (it reads as empty), for both readers and the Config layer", () =>
    Effect.gen(function*() {
      const fifo = join(dir, "k.fifo")
      execFileSync("mkfifo", [fifo])
      symlinkSync(fifo, join(dir, "k.link"))
      const started = Date.now()
      const v = yield* failureOf(Signer.readVerifierKeyFile(fifo))
      expect(v._tag).toBe("KeyFileInvalid")
      expect(v.reason).toMatch(/empty/)
      const s = yield* failureOf(Signer.readSignerKeyFile(join(dir, "k.link")))
      expect(s._tag).toBe("KeyFileInvalid")
      const layer = yield* failureOf(Layer.build(Signer.layerEd25519Config()).pipe(
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ACTTRACE_SIGNING_KEY_FILE", fifo]])))
      ))
      expect(layer._tag).toBe("KeyFileInvalid")
      expect(Date.now() - started).toBeLessThan(5_000)
    }).pipe(Effect.provide(NodeFileSystem.layer)), 20_000)

  it.effect("/dev/zero: KeyFileInvalid 'too large', after reading at most 4097 bytes", () =>
    Effect.gen(function*() {
      const e = yield* failureOf(Signer.readSignerKeyFile("/dev/zero"))
      expect(e.reason).toMatch(/too large/)
    }).pipe(Effect.provide(NodeFileSystem.layer)), 20_000)

  it.live("a pipe with its writer, content coming late (a process substitution): read whole, key accepted", () =>
    Effect.gen(function*() {
      const made = yield* keygen({ out: dir, name: "piped" })
      const fifo = join(dir, "late.fifo")
      execFileSync("mkfifo", [fifo])
      // a writer that opens the pipe now and writes the key a little later, in two pieces
      const text = readFileSync(made.signerKeyPath, "utf8")
      const writer = spawn("bash", ["-c", `exec 3>"${fifo}"; sleep 0.5; printf %s "${text.slice(0, 10)}" >&3; sleep 0.3; printf '%s\\n' "${text.slice(10).trimEnd()}" >&3`])
      // wait until the writer has the pipe open (else the reader finds no writer and an empty pipe)
      yield* Effect.sleep("200 millis")
      const key = yield* Signer.readSignerKeyFile(fifo)
      expect(Redacted.value(key)).toBe(text.trimEnd())
      writer.kill()
    }).pipe(Effect.provide(NodeFileSystem.layer)), 20_000)
})
