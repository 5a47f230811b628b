/**
 * What a database URL names, and the part of it that may be shown: no password (nor any
 * password parameter) ever reaches a store's name or a message. No imports: `Store` uses it
 * statically, before the optional SQL packages are loaded.
 */

/**
 * The parts of a PostgreSQL URL that may be shown (scheme, user, host, port, database) and the
 * secrets in it (its password, as written and decoded, and any password parameter).
 *
 * @internal
 */
export const describeUrl = (url: string): { readonly shown: string; readonly secrets: ReadonlyArray<string> } | undefined => {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return undefined
  }
  const secrets: Array<string> = []
  const add = (s: string) => {
    if (s.length === 0) return
    secrets.push(s)
    try {
      const d = decodeURIComponent(s)
      if (d !== s) secrets.push(d)
    } catch {
      // not percent-encoded: the raw form is enough
    }
  }
  add(u.password)
  for (const [k, v] of u.searchParams) if (/pass|key|secret|token/i.test(k)) add(v)
  const user = u.username.length > 0 ? `${u.username}@` : ""
  return { shown: `${u.protocol}//${user}${u.host}${u.pathname}`, secrets }
}

/**
 * What a URL names: a PostgreSQL server, or a SQLite file.
 *
 * @internal
 */
export type Target =
  | { readonly _tag: "pg"; readonly shown: string; readonly secrets: ReadonlyArray<string> }
  | { readonly _tag: "sqlite"; readonly path: string }
  | { readonly _tag: "bad"; readonly reason: string; readonly shown: string }

/**
 * What `url` names (`Store.layerSqlUrl`): `postgres://` or `postgresql://` a PostgreSQL server,
 * `sqlite:PATH` or a path a SQLite file; anything else `bad`, with a reason that repeats none of it
 * beyond its scheme.
 *
 * @internal
 */
export const targetOf = (url: string): Target => {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const d = describeUrl(url)
    return d === undefined
      ? { _tag: "bad", shown: "postgres://…", reason: "the PostgreSQL URL does not parse (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)" }
      : { _tag: "pg", shown: d.shown, secrets: d.secrets }
  }
  const sqlite = /^sqlite:(?:\/\/)?(.*)$/i.exec(url)
  if (sqlite !== null) return sqlite[1]! === "" ? { _tag: "bad", shown: "sqlite:", reason: "sqlite: names no file (sqlite:PATH)" } : { _tag: "sqlite", path: sqlite[1]! }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)
  if (scheme !== null) {
    return { _tag: "bad", shown: `${scheme[1]}://…`, reason: `${scheme[1]}:// is not a database this store supports: give a postgres:// or postgresql:// URL, or a SQLite file path` }
  }
  if (url.length === 0) return { _tag: "bad", shown: "(empty)", reason: "the database URL is empty: give a postgres:// or postgresql:// URL, or a SQLite file path" }
  return { _tag: "sqlite", path: url }
}

