/**
 * What every test of the SQL stores shares: the PostgreSQL to test against, a describe that says
 * plainly when it is not there, unique chain names and table prefixes, and SqlClient layers.
 *
 * PostgreSQL: `DATABASE_URL` set → used. Unset: under `CI=true` the PostgreSQL tests FAIL (CI must
 * start a server: `.ci/run` does); elsewhere they are skipped, and the reason is printed once.
 * Locally: `bash scripts/with-postgres.sh npx vitest run test/store-sql.test.ts`.
 */
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { PgClient } from "@effect/sql-pg"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, it } from "@effect/vitest"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { SqlError } from "@effect/sql/SqlError"
import * as Store from "../src/Store.js"

/** The PostgreSQL the tests run against (`DATABASE_URL`), or undefined when none is configured. */
export const databaseUrl: string | undefined = process.env["DATABASE_URL"] || undefined

const NO_DATABASE = "DATABASE_URL is not set: CI must start PostgreSQL (.ci/run); locally run `bash scripts/with-postgres.sh npm test` or set DATABASE_URL"

let toldSkip = false

/**
 * `describe` for tests that need PostgreSQL: runs them when `DATABASE_URL` is set; under
 * `CI=true` without it, one test that fails saying why; elsewhere skips them, saying why once.
 */
export const describePg = (name: string, body: (url: string) => void): void => {
  if (databaseUrl !== undefined) {
    const url = databaseUrl
    describe(name, () => body(url))
  } else if (process.env["CI"] === "true") {
    describe(name, () => {
      it("has a PostgreSQL to test against", () => {
        throw new Error(NO_DATABASE)
      })
    })
  } else {
    if (!toldSkip) {
      toldSkip = true
      console.warn(`skipping the PostgreSQL tests: ${NO_DATABASE}`)
    }
    describe.skip(name, () => body(""))
  }
}

/** A chain name no other test (or other run) uses: `prefix-<random hex>`. */
export const freshChain = (prefix = "t"): string => `${prefix}-${randomBytes(6).toString("hex")}`

/** A table prefix of its own, for a test that needs empty (or not yet created) tables. */
export const freshPrefix = (prefix = "t"): string => `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, "_")}_${randomBytes(5).toString("hex")}`

/**
 * A PostgreSQL SqlClient on `DATABASE_URL` (or `url`). `applicationName` names its connections in
 * `pg_stat_activity`, so a test can end exactly its own (`pg_terminate_backend`).
 */
export const pgLayer = (
  url: string | undefined = databaseUrl,
  maxConnections = 4,
  applicationName?: string
): Layer.Layer<SqlClient.SqlClient, SqlError | ConfigError.ConfigError> => {
  if (url === undefined) throw new Error(NO_DATABASE)
  return PgClient.layer({ url: Redacted.make(url), maxConnections, ...(applicationName !== undefined ? { applicationName } : {}) })
}

/** A SQLite SqlClient on the file at `path` (WAL, the client's default). */
export const sqliteLayer = (path: string): Layer.Layer<SqlClient.SqlClient, ConfigError.ConfigError> => SqliteClient.layer({ filename: path })

/**
 * What a `pgProxy` does with the connections through it:
 * - `pass`: relays both ways;
 * - `cut-after-commit`: relays a COMMIT to the server, waits for its answer, and then cuts the
 *   connection instead of relaying it (the server committed; the client cannot know);
 * - `drop-commit`: cuts the connection instead of relaying a COMMIT (the server rolls back);
 * - `refuse`: closes every new connection at once (a server that went away).
 * After cutting one COMMIT, the proxy switches to `after`.
 */
export type ProxyMode = "pass" | "cut-after-commit" | "drop-commit" | "refuse"

export interface PgProxy {
  /** the URL of `DATABASE_URL` with its host and port replaced by the proxy's */
  readonly url: string
  mode: ProxyMode
  after: ProxyMode
  /** COMMITs cut so far */
  readonly cuts: number
  readonly close: () => Promise<void>
}

/** A simple-query COMMIT as the pg client sends it: 'Q', length 11, "COMMIT\0". */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 11]), Buffer.from("COMMIT\0", "latin1")])

/**
 * A TCP proxy in front of the PostgreSQL of `url` on loopback, which can lose a connection at the
 * moment a COMMIT is in flight (see `ProxyMode`): a real connection, cut where a network would
 * cut it. Plain connections only (the test server uses no TLS).
 */
export const pgProxy = async (url: string | undefined = databaseUrl): Promise<PgProxy> => {
  if (url === undefined) throw new Error(NO_DATABASE)
  const target = new URL(url)
  const sockets = new Set<net.Socket>()
  let cuts = 0
  const proxy: { mode: ProxyMode; after: ProxyMode } = { mode: "pass", after: "pass" }
  const server = net.createServer((client) => {
    sockets.add(client)
    client.on("close", () => sockets.delete(client))
    client.on("error", () => client.destroy())
    if (proxy.mode === "refuse") {
      client.destroy()
      return
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    sockets.add(upstream)
    upstream.on("close", () => {
      sockets.delete(upstream)
      client.destroy()
    })
    upstream.on("error", () => upstream.destroy())
    client.on("close", () => upstream.destroy())
    let awaitingCommit = false
    client.on("data", (chunk: Buffer) => {
      const at = chunk.indexOf(COMMIT_MESSAGE)
      if (at >= 0 && (proxy.mode === "cut-after-commit" || proxy.mode === "drop-commit")) {
        const mode = proxy.mode
        proxy.mode = proxy.after
        cuts++
        if (mode === "drop-commit") {
          if (at > 0) upstream.write(chunk.subarray(0, at))
          client.destroy()
          upstream.destroy()
        } else {
          awaitingCommit = true
          upstream.write(chunk)
        }
        return
      }
      upstream.write(chunk)
    })
    upstream.on("data", (chunk: Buffer) => {
      if (awaitingCommit) {
        // the server has answered the COMMIT: the client never hears it
        client.destroy()
        upstream.destroy()
        return
      }
      client.write(chunk)
    })
  })
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
  const port = (server.address() as net.AddressInfo).port
  const proxied = new URL(url)
  proxied.hostname = "127.0.0.1"
  proxied.port = String(port)
  return {
    url: proxied.toString(),
    get mode() {
      return proxy.mode
    },
    set mode(m: ProxyMode) {
      proxy.mode = m
    },
    get after() {
      return proxy.after
    },
    set after(m: ProxyMode) {
      proxy.after = m
    },
    get cuts() {
      return cuts
    },
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy()
        server.close(() => ok())
      })
  }
}

/** A TCP port on loopback where nothing listens (taken, then released). */
export const closedPort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const s = net.createServer()
    s.on("error", fail)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => ok(port))
    })
  })

/** A database the tests write to: its name in test titles, where it is, and a statement run on it. */
export interface Engine {
  readonly name: string
  readonly url: () => string
  readonly exec: <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) => Promise<A>
}

/** The SQLite file at `file`, as an `Engine`. */
export const sqliteEngine = (file: string): Engine => ({
  name: "SQLite",
  url: () => file,
  exec: (f) => Effect.runPromise(Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(sqliteLayer(file)), Effect.scoped))
})

/** The PostgreSQL at `DATABASE_URL`, as an `Engine` (read when a statement runs). */
export const pgEngine = (maxConnections?: number): Engine => ({
  name: "PostgreSQL",
  url: () => databaseUrl!,
  exec: (f) => Effect.runPromise(Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(pgLayer(databaseUrl, maxConnections)), Effect.scoped))
})

/** `rows` appended to the chain `chain` of the database at `url` (created), as its rows. */
export const copyToDb = (url: string, chain: string, rows: ReadonlyArray<string>, tablePrefix?: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* Store.Store
      for (let i = 0; i < rows.length; i += 1000) yield* store.append(rows.slice(i, i + 1000))
    }).pipe(Effect.provide(Store.layerSqlUrl(url, { chain, tablePrefix })))
  )
