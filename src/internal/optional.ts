/**
 * The optional packages of the SQL stores (`@effect/sql`, `@effect/sql-pg`,
 * `@effect/sql-sqlite-node`) are loaded on first use, with a dynamic import: a user who never opens
 * a SQL store needs none of them. A failed load becomes a `StoreError` (operation `open`) whose
 * reason, made here, names what to install. No imports: `Store` uses it statically.
 */

/**
 * Why an optional package failed to load, for a `StoreError`: which package is missing (read from
 * the loader's message when it names one) and what to install.
 *
 * @internal
 */
export const missingPackageReason = (packages: string, cause: unknown): string => {
  const text = cause instanceof Error ? cause.message : String(cause)
  // Node: "Cannot find package '@effect/sql' imported from …"; vite: "Cannot find module '…'"
  const named = /Cannot find (?:package|module) '((?:@[^/'\s]+\/)?[^/'\s]+)/.exec(text)?.[1]
  const missing = named !== undefined && !named.startsWith(".") && !named.startsWith("/") ? named : undefined
  return missing !== undefined
    ? `the optional package ${missing} is not installed (the SQL stores need it): npm install ${packages}`
    : `the SQL store could not be loaded (${text.split("\n")[0]}): are its optional packages installed? npm install ${packages}`
}
