// scripts/with-postgres.sh, which CI (.ci/run) and `npm run test:pg` run the tests through: a
// private PostgreSQL for one command, there for the command's whole life and gone after it,
// whatever way the command ends. Real servers, real processes, real signals.
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

const ROOT = resolve(import.meta.dirname, "..")
/** The script under test (another copy can be tried: WITH_POSTGRES_UNDER_TEST=path). */
const SCRIPT = process.env["WITH_POSTGRES_UNDER_TEST"] ?? join(ROOT, "scripts", "with-postgres.sh")

/** PostgreSQL's server binaries, where the script looks for them. */
const binaries = (() => {
  const given = process.env["PGBIN"]
  if (given !== undefined && given !== "") return existsSync(join(given, "initdb"))
  const base = "/usr/lib/postgresql"
  return existsSync(base) && readdirSync(base).some((v) => existsSync(join(base, v, "bin", "initdb")))
})()
const psql = spawnSync("psql", ["--version"]).status === 0

/** Whether something accepts connections on the port (the server, while it runs). */
const listening = (port: number) =>
  new Promise<boolean>((ok) => {
    const s = connect({ host: "127.0.0.1", port })
    s.once("connect", () => {
      s.destroy()
      ok(true)
    })
    s.once("error", () => ok(false))
  })

/** Whether the process runs (a zombie, ended but not reaped by whoever inherited it, does not). */
const alive = (pid: number) => {
  // (0 and negative numbers name process groups, never one process)
  if (!(pid > 0)) throw new Error(`not a process id: ${pid}`)
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // "pid (comm) S ...": the state follows the last ")"
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return true
  }
}

interface Ran {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Run the script with `args`; `then` runs once its server is up (it has printed the URL). */
const run = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}, then?: (pid: number) => void) =>
  Effect.promise(
    () =>
      new Promise<Ran>((ok) => {
        const child = spawn("bash", [SCRIPT, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
        let stdout = ""
        let stderr = ""
        let told = false
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString()
          if (!told && then !== undefined && stderr.includes("DATABASE_URL=")) {
            told = true
            then(child.pid!)
          }
        })
        child.once("close", (status, signal) => ok({ status, signal, stdout, stderr }))
        // a command the script left running keeps its output open: the script's own end counts
        child.once("exit", (status, signal) => setTimeout(() => ok({ status, signal, stdout, stderr }), 2000))
      })
  )

const portOf = (stderr: string) => Number(/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1])
/** The cluster's directory, as the script announces it. */
const clusterOf = (stderr: string) => {
  const dir = /cluster in (\S+) /.exec(stderr)?.[1]
  if (dir === undefined) throw new Error(`the script did not say where its cluster is: ${stderr}`)
  return dir
}

describe("scripts/with-postgres.sh", () => {
  if (!binaries || !psql) {
    if (process.env["CI"] === "true") {
      it("has PostgreSQL's server binaries to test with", () => {
        throw new Error("no PostgreSQL server binaries (or no psql): CI must install postgresql (.ci/run)")
      })
    } else {
      it.skip("needs PostgreSQL's server binaries and psql (Debian: apt-get install postgresql)", () => {})
    }
    return
  }

  it.live("runs the command with DATABASE_URL on an empty database of its own, and removes the server after it", () =>
    Effect.gen(function* () {
      const r = yield* run([
        "sh",
        "-c",
        `psql "$DATABASE_URL" -Atc "SELECT current_database() || ' ' || count(*) FROM pg_tables WHERE schemaname = 'public'"; echo "$DATABASE_URL"`
      ], { DATABASE_URL: "postgres://nobody@127.0.0.1:1/not-this-one" })
      expect(r.stderr).toMatch(/^with-postgres: PostgreSQL \d+\.\d+ on 127\.0\.0\.1:\d+, cluster in \/tmp\/acttrace-pg\.\w+ /m)
      expect(r.status).toBe(0)
      const [answer, url] = r.stdout.trim().split("\n")
      // the command's database is the script's, empty, whatever DATABASE_URL was before
      expect(answer).toBe("acttrace_test 0")
      expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/acttrace_test$/)
      expect(yield* Effect.promise(() => listening(portOf(r.stderr)))).toBe(false)
      expect(existsSync(clusterOf(r.stderr))).toBe(false)
    }), 60_000)

  it.live("exits with the command's status, and keeps the server's log of a failed command", () =>
    Effect.gen(function* () {
      const tmp = mkdtempSync(join(tmpdir(), "with-postgres-test-"))
      try {
        const r = yield* run(["sh", "-c", "exit 7"], { TMPDIR: tmp })
        expect(r.status).toBe(7)
        expect(r.stderr).toContain(`the command exited 7; the server's log is in ${tmp}/acttrace-pg-last.log`)
        expect(readFileSync(join(tmp, "acttrace-pg-last.log"), "utf8")).toMatch(/database system is ready to accept connections/)
      } finally {
        rmSync(tmp, { recursive: true, force: true })
      }
    }), 60_000)

  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    it.live(`${signal} stops the command first, then the server (no command left running against a server that is gone)`, () =>
      Effect.gen(function* () {
        const tmp = mkdtempSync(join(tmpdir(), "with-postgres-test-"))
        const pidFile = join(tmp, "pid")
        try {
          // the command: a node process that says its pid and would run for a minute. The pid is
          // written aside and renamed into place: the signal is sent as soon as the file exists,
          // and a file written in place can exist empty (the command killed between creating it
          // and writing it: then the pid read was 0, and process 0 is the test's own group)
          const r = yield* run(
            [
              "node",
              "-e",
              `const fs = require("fs"); fs.writeFileSync(${JSON.stringify(pidFile + ".new")}, String(process.pid)); fs.renameSync(${JSON.stringify(pidFile + ".new")}, ${JSON.stringify(pidFile)}); setTimeout(() => {}, 60000)`
            ],
            {},
            (pid) => {
              const wait = () => (existsSync(pidFile) ? process.kill(pid, signal) : setTimeout(wait, 20))
              wait()
            }
          )
          const command = Number(readFileSync(pidFile, "utf8"))
          expect(command, "the command's pid").toBeGreaterThan(1)
          expect(alive(command), "the command still runs after the script has ended").toBe(false)
          expect(r.status).toBe(code)
          expect(yield* Effect.promise(() => listening(portOf(r.stderr)))).toBe(false)
          expect(existsSync(clusterOf(r.stderr))).toBe(false)
        } finally {
          rmSync(tmp, { recursive: true, force: true })
        }
      }), 60_000)
  }

  it.live("without server binaries it fails and says what to install, running nothing", () =>
    Effect.gen(function* () {
      const r = yield* run(["sh", "-c", "echo ran"], { PGBIN: "/nonexistent/bin" })
      expect(r.status).toBe(1)
      expect(r.stdout).toBe("")
      expect(r.stderr).toContain("no PostgreSQL server binaries found (Debian: apt-get install postgresql; or set PGBIN)")
    }))
})
