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

/** where a read value goes: its slot in the copy of its container, or the copy itself */
type Put = (read: unknown) => void

/**
 * The value as the guard reads it: itself when it holds only what the engine reads; otherwise a
 * copy (cycles kept as cycles) where a `URL` is its `href`, `Headers`, `URLSearchParams`,
 * `FormData` and `Map` are lists of `{name: value}` pairs, a `Set` a list, an error its name,
 * message, stack and cause, an object with `toJSON` what it returns, and any other instance its own
 * enumerable properties, a boxed string, number or boolean its value. Functions and symbols are
 * nothing.
 *
 * The walk keeps its own stack (a value nested a hundred thousand levels deep is read, not a
 * `RangeError`): a container's copy is made and put in place when it is met, and what it holds is
 * read after it, in order, each element whole before the next (as a recursive walk reads them), so
 * an object's keys keep their order.
 */
export const readable = (value: unknown): Readable => {
  if (!needsReading(value)) return { view: value, converted: false }
  const copies = new Map<object, unknown>()
  let view: unknown
  const work: Array<readonly [unknown, Put]> = [[value, (r) => void (view = r)]]
  /** what a container holds, read next, first to last */
  const next = (items: ReadonlyArray<readonly [unknown, Put]>): void => {
    for (let i = items.length - 1; i >= 0; i--) work.push(items[i]!)
  }
  while (work.length > 0) {
    const [v, put] = work.pop()!
    if (typeof v === "function" || typeof v === "symbol") {
      put(undefined)
      continue
    }
    if (v === null || typeof v !== "object") {
      put(v)
      continue
    }
    const done = copies.get(v)
    if (done !== undefined) {
      put(done)
      continue
    }
    if (kept(v)) {
      put(v)
      continue
    }
    // a boxed primitive is sent as its value (`new String(token)` is the token, not one member per
    // character)
    if (v instanceof String || v instanceof Number || v instanceof Boolean) {
      put(v.valueOf())
      continue
    }
    if (Array.isArray(v) || v instanceof Set) {
      const out: Array<unknown> = []
      copies.set(v, out)
      put(out)
      const items: Array<readonly [unknown, Put]> = []
      for (const x of Array.isArray(v) ? Array.from({ length: v.length }, (_, i) => v[i]) : v) {
        const at = items.length
        items.push([x, (r) => void (out[at] = r)])
      }
      next(items)
      continue
    }
    if (typeof URL !== "undefined" && v instanceof URL) {
      put(v.href)
      continue
    }
    if (
      (typeof Headers !== "undefined" && v instanceof Headers) ||
      (typeof URLSearchParams !== "undefined" && v instanceof URLSearchParams) ||
      (typeof FormData !== "undefined" && v instanceof FormData) ||
      v instanceof Map
    ) {
      // one single-key object per pair: each value read under its own name, duplicates kept
      const out: Array<unknown> = []
      copies.set(v, out)
      put(out)
      const items: Array<readonly [unknown, Put]> = []
      for (const [k, x] of (v as { entries(): Iterable<readonly [unknown, unknown]> }).entries()) {
        if (typeof k === "string") {
          const pair: Record<string, unknown> = {}
          out.push(pair)
          items.push([x, (r) => void (pair[k] = r)])
        } else {
          const pair: Array<unknown> = [undefined, undefined]
          out.push(pair)
          items.push([k, (r) => void (pair[0] = r)], [x, (r) => void (pair[1] = r)])
        }
      }
      next(items)
      continue
    }
    const out: Record<string, unknown> = {}
    copies.set(v, out)
    const items: Array<readonly [unknown, Put]> = []
    if (v instanceof Error) {
      out["name"] = v.name
      out["message"] = v.message
      if (v.stack !== undefined) out["stack"] = v.stack
      if (v.cause !== undefined) items.push([v.cause, (r) => void (out["cause"] = r)])
    }
    const toJSON = field(v, "toJSON")
    if (typeof toJSON === "function") {
      let json: unknown
      try {
        json = (toJSON as (k: string) => unknown).call(v, "")
      } catch {
        json = undefined
      }
      // what it returns stands for it (met again through a cycle inside, it is the copy so far)
      items.push([
        json,
        (r) => {
          copies.set(v, r)
          put(r)
        }
      ])
      next(items)
      continue
    }
    put(out)
    for (const k in v) items.push([field(v, k), (r) => void (r === undefined ? undefined : (out[k] = r))])
    next(items)
  }
  return { view, converted: true }
}
