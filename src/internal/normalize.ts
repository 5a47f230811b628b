/**
 * Plain JSON from what an app hands the log: objects with `toJSON` (a `Date`) become what it
 * returns, and object members whose value is `undefined` are dropped, as `JSON.stringify` does.
 * Bytes (a `Buffer`, any `Uint8Array`, an `ArrayBuffer`: what `execSync`, `readFileSync` without
 * an encoding and stream chunks hand out) become their text when they are UTF-8, so the redactor
 * reads them like any string (as `Buffer#toJSON`'s array of numbers they passed it unread), and
 * are refused with a typed error when they are not: binary data is the app's to encode.
 * Anything else that is not JSON (a function, a symbol, a cycle, `NaN`, a class instance) is left
 * in place for `Canonical.encode` to refuse with a typed error naming where it is. The caller's
 * value is never changed. Iterative, so deep values cannot overflow the stack.
 * @internal
 */
import { isUtf8 } from "node:buffer"
import * as Either from "effect/Either"
import * as Canonical from "../Canonical.js"
import { isPlainObject } from "./plain.js"


/** The bytes of a `Buffer`, `Uint8Array` or `ArrayBuffer`, or `null` for any other value. */
const bytesOf = (v: object): Uint8Array | null =>
  v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : null

const UTF8 = new TextDecoder("utf-8", { fatal: true })

const hasToJSON = (v: object): v is { toJSON: (key?: string) => unknown } =>
  typeof (v as { toJSON?: unknown }).toJSON === "function" && !(v instanceof Canonical.Num)

/**
 * Whether `value` is plain JSON already (nothing to convert or drop), so it can be used as it is.
 * Most payloads are; checking costs a walk, copying would cost a walk and the allocations.
 */
const isPlainJson = (value: unknown): boolean => {
  const stack: Array<unknown> = [value]
  // a budget instead of a visited set: a cycle (or a huge value) exhausts it and takes the
  // copying path, which finds cycles; a set per payload cost more than the walk
  // (counted per value put on the stack: a wide object met again through a back-reference grew the
  // stack by its width per visit, and a parent pointer under 3,000 members aborted the process)
  let budget = 100_000
  while (stack.length > 0) {
    const v = stack.pop()
    if (v === null) continue
    const t = typeof v
    if (t === "string" || t === "boolean" || t === "bigint") continue
    if (t === "number") {
      if (!Number.isFinite(v as number)) return false
      continue
    }
    if (t !== "object") return false
    const o = v as object
    if (Array.isArray(o)) {
      if ((budget -= o.length) <= 0) return false
      for (let i = 0; i < o.length; i++) stack.push(o[i])
      continue
    }
    if (o instanceof Canonical.Num) continue
    if (!isPlainObject(o)) return false
    for (const k in o) {
      if (--budget <= 0) return false
      const x = (o as Record<string, unknown>)[k]
      if (x === undefined) return false
      stack.push(x)
    }
  }
  return true
}

export const normalize = (value: Record<string, unknown>): Either.Either<Record<string, unknown>, Canonical.CanonicalError> => {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && isPlainObject(value) && isPlainJson(value)) return Either.right(value)
  const root: { v: unknown } = { v: undefined }
  const stack: Array<{ src: unknown; set: (x: unknown) => void }> = [{ src: value, set: (x) => (root.v = x) }]
  const copies = new Map<object, unknown>()
  while (stack.length > 0) {
    const item = stack.pop()!
    let src = item.src
    const bytes = src !== null && typeof src === "object" ? bytesOf(src) : null
    if (bytes !== null) {
      if (!isUtf8(bytes)) {
        return Either.left(new Canonical.CanonicalError({ reason: "Unserializable", at: "$", detail: `${bytes.length} bytes of binary data that are not UTF-8 text: encode them (base64, hex) or decode them before logging` }))
      }
      item.set(UTF8.decode(bytes))
      continue
    }
    if (src !== null && typeof src === "object" && hasToJSON(src)) {
      try {
        src = src.toJSON()
      } catch (e) {
        return Either.left(new Canonical.CanonicalError({ reason: "Unserializable", at: "$", detail: `toJSON failed: ${String(e)}` }))
      }
    }
    if (src === null || typeof src !== "object" || !(Array.isArray(src) || isPlainObject(src))) {
      item.set(src)
      continue
    }
    if (copies.has(src)) {
      item.set(copies.get(src))
      continue
    }
    if (Array.isArray(src)) {
      const out: Array<unknown> = new Array(src.length)
      copies.set(src, out)
      item.set(out)
      for (let i = 0; i < src.length; i++) stack.push({ src: src[i], set: (x) => (out[i] = x) })
    } else {
      const out: Record<string, unknown> = {}
      copies.set(src, out)
      item.set(out)
      for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
        if (v === undefined) continue
        out[k] = undefined
        stack.push({ src: v, set: (x) => (out[k] = x) })
      }
    }
  }
  const v = root.v
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return Either.left(new Canonical.CanonicalError({ reason: "Unserializable", at: "$", detail: "a payload must be a plain object" }))
  }
  return Either.right(v as Record<string, unknown>)
}
