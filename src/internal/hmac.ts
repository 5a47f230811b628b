/**
 * HMAC-SHA256 built from two one-shot `crypto.hash` calls over precomputed ipad/opad blocks.
 *
 * Hand-written for speed: `createHmac` allocates a native object per message, which dominated
 * the per-entry cost of verification. The construction is RFC 2104 exactly; tests compare it with
 * `createHmac` on random keys and messages.
 * @internal
 */
import { createHmac, hash } from "node:crypto"

const BLOCK = 64

/**
 * A copy of key bytes in memory of its own: a `Buffer.from` of a short input lands in Node's
 * shared allocation pool, whose ArrayBuffer every other small Buffer exposes as `.buffer`.
 */
export const ownCopy = (bytes: Uint8Array): Buffer => {
  const b = Buffer.alloc(bytes.length)
  b.set(bytes)
  return b
}

/** UTF-8 bytes of a passphrase, in memory of their own (see `ownCopy`). */
export const keyBytesOf = (text: string): Buffer => {
  const b = Buffer.alloc(Buffer.byteLength(text, "utf8"))
  b.write(text, 0, "utf8")
  return b
}

export class FastHmac {
  /** Lowercase hex HMAC of a 64-character ASCII message (an entry hash), the hot path. */
  readonly ofHash: (hex64: string) => string
  /** Lowercase hex HMAC of any UTF-8 message. */
  readonly hex: (message: string | Uint8Array) => string

  constructor(key: Uint8Array) {
    // The key, and the ipad/opad blocks that give it back when XORed with their pad, live only in
    // these closures: no property reaches them, so neither util.inspect, JSON.stringify nor a walk
    // over a verification's state can print them.
    const secret = ownCopy(key)
    const k = key.length > BLOCK ? hash("sha256", secret, "buffer") : secret
    const inner = Buffer.alloc(BLOCK + 64)
    const outer = Buffer.alloc(BLOCK + 32)
    for (let i = 0; i < BLOCK; i++) {
      const b = i < k.length ? k[i]! : 0
      inner[i] = b ^ 0x36
      outer[i] = b ^ 0x5c
    }
    if (k !== secret) k.fill(0)
    const hex = (message: string | Uint8Array): string => createHmac("sha256", secret).update(message).digest("hex")
    this.hex = hex
    this.ofHash = (hex64: string): string => {
      if (hex64.length !== 64) return hex(hex64)
      inner.write(hex64, BLOCK, "latin1")
      const ih = hash("sha256", inner, "binary")
      outer.write(ih, BLOCK, "latin1")
      return hash("sha256", outer, "hex")
    }
  }
}

/** Constant-time equality of two strings of public length (hex digests). */
export const equalConstantTime = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return d === 0
}

/** Constant-time equality of the bytes buf[at, at + len) with the ASCII string `s`. */
export const equalBytesConstantTime = (buf: Uint8Array, at: number, len: number, s: string): boolean => {
  if (len !== s.length) return false
  let d = 0
  for (let k = 0; k < len; k++) d |= buf[at + k]! ^ s.charCodeAt(k)
  return d === 0
}
