/**
 * The SQL stores (PostgreSQL, SQLite) behind `Store.layerSql*`. This module imports `@effect/sql`
 * statically; `Store` reaches it only through a dynamic import, so users without the optional
 * packages can still import `acttrace/Store`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { StoreError } from "../Store.js"
import type { SqlOptions, StoreService } from "../Store.js"

export const make = (options: SqlOptions): Effect.Effect<StoreService, StoreError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.flatMap(SqlClient.SqlClient, () => Effect.fail(new StoreError({ path: options.chain, operation: "open", reason: "not implemented yet" })))

export const makeUrl = (_url: Redacted.Redacted<string>, options: SqlOptions): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.fail(new StoreError({ path: options.chain, operation: "open", reason: "not implemented yet" }))
