/**
 * What a value holds, as the guard reads it: the JSON an app's client would send for it. The
 * detection engine reads plain objects, arrays, strings, numbers and bytes; arguments handed to a
 * tool are often none of these (`Headers`, `URL`, `URLSearchParams`, `FormData`, `Map`, `Set`,
 * errors, class instances, objects with `toJSON`), and a secret inside one of them was read as
 * nothing and let out. This gives a copy in which each such object is replaced by what it holds.
 * @internal
 */
import * as Canonical from "../Canonical.js"
import { isPlainObject } from "./plain.js"

/** The copy, and whether any object in it was read otherwise than as it is. */
export interface Readable {
  readonly view: unknown
  readonly converted: boolean
}

const kept = (v: object): boolean =>
  v instanceof Uint8Array || v instanceof ArrayBuffer || v instanceof Canonical.Num || v instanceof Date

/** a property that throws when read is read as nothing (the call's own code meets it first) */
const field = (o: object, k: string): unknown => {
  try {
    return (o as Record<string, unknown>)[k]
  } catch {
    return undefined
  }
}

/** Whether any object reachable from `value` is one the engine would not read (one walk, visited once). */
const needsReading = (value: unknown): boolean => {
  const seen = new Set<object>()
  const stack: Array<unknown> = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (v === null || typeof v !== "object") continue
    if (seen.has(v)) continue
    seen.add(v)
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push(v[i])
      continue
    }
    if (kept(v)) continue
    if (!isPlainObject(v)) return true
    for (const k in v) {
      const x = field(v, k)
      // a literal with its own `toJSON` is sent as what that returns
      if (typeof x === "function" && k === "toJSON") return true
      stack.push(x)
    }
  }
  return false
}

/** `entries` as one single-key object per pair: each value read under its own name, duplicates kept */
const pairs = (entries: Iterable<readonly [unknown, unknown]>, read: (x: unknown) => unknown): Array<unknown> => {
  const out: Array<unknown> = []
  for (const [k, x] of entries) out.push(typeof k === "string" ? { [k]: read(x) } : [read(k), read(x)])
  return out
}

/**
 * The value as the guard reads it: itself when it holds only what the engine reads; otherwise a
 * copy (cycles kept as cycles) where a `URL` is its `href`, `Headers`, `URLSearchParams`,
 * `FormData` and `Map` are lists of `{name: value}` pairs, a `Set` a list, an error its name,
 * message, stack and cause, an object with `toJSON` what it returns, and any other instance its own
 * enumerable properties. Functions and symbols are nothing.
 */
export const readable = (value: unknown): Readable => {
  if (!needsReading(value)) return { view: value, converted: false }
  const copies = new Map<object, unknown>()
  const read = (v: unknown): unknown => {
    if (typeof v === "function" || typeof v === "symbol") return undefined
    if (v === null || typeof v !== "object") return v
    const done = copies.get(v)
    if (done !== undefined) return done
    if (kept(v)) return v
    if (Array.isArray(v)) {
      const out: Array<unknown> = []
      copies.set(v, out)
      for (let i = 0; i < v.length; i++) out.push(read(v[i]))
      return out
    }
    if (typeof URL !== "undefined" && v instanceof URL) return v.href
    if (
      (typeof Headers !== "undefined" && v instanceof Headers) ||
      (typeof URLSearchParams !== "undefined" && v instanceof URLSearchParams) ||
      (typeof FormData !== "undefined" && v instanceof FormData) ||
      v instanceof Map
    ) {
      const out: Array<unknown> = []
      copies.set(v, out)
      out.push(...pairs((v as { entries(): Iterable<readonly [unknown, unknown]> }).entries(), read))
      return out
    }
    if (v instanceof Set) {
      const out: Array<unknown> = []
      copies.set(v, out)
      for (const x of v) out.push(read(x))
      return out
    }
    const out: Record<string, unknown> = {}
    copies.set(v, out)
    if (v instanceof Error) {
      out["name"] = v.name
      out["message"] = v.message
      if (v.stack !== undefined) out["stack"] = v.stack
      if (v.cause !== undefined) out["cause"] = read(v.cause)
    }
    const toJSON = field(v, "toJSON")
    if (typeof toJSON === "function") {
      let json: unknown
      try {
        json = (toJSON as (k: string) => unknown).call(v, "")
      } catch {
        json = undefined
      }
      const r = read(json)
      copies.set(v, r)
      return r
    }
    for (const k in v) {
      const x = read(field(v, k))
      if (x !== undefined) out[k] = x
    }
    return out
  }
  return { view: read(value), converted: true }
}
