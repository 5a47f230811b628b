/**
 * What every test of the SQL stores shares: the PostgreSQL to test against, a describe that says
 * plainly when it is not there, unique chain names and table prefixes, and SqlClient layers.
 *
 * PostgreSQL: `DATABASE_URL` set → used. Unset: under `CI=true` the PostgreSQL tests FAIL (CI must
 * start a server: `.ci/run` does); elsewhere they are skipped, and the reason is printed once.
 * Locally: `bash scripts/with-postgres.sh npx vitest run test/store-sql.test.ts`.
 */
import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, it } from "@effect/vitest"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { SqlError } from "@effect/sql/SqlError"

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

/** A PostgreSQL SqlClient on `DATABASE_URL` (or `url`), with room for the migration lock's connection. */
export const pgLayer = (url: string | undefined = databaseUrl, maxConnections = 4): Layer.Layer<SqlClient.SqlClient, SqlError | ConfigError.ConfigError> => {
  if (url === undefined) throw new Error(NO_DATABASE)
  return PgClient.layer({ url: Redacted.make(url), maxConnections })
}

/** A SQLite SqlClient on the file at `path` (WAL, the client's default). */
export const sqliteLayer = (path: string): Layer.Layer<SqlClient.SqlClient, ConfigError.ConfigError> => SqliteClient.layer({ filename: path })
