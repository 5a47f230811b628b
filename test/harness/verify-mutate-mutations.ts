/**
 * The mutations of the verification fuzz harness (`verify-mutate.test.ts`): every byte position of
 * a file flipped, overwritten, preceded by an inserted byte and deleted; every line deleted,
 * duplicated, swapped with the next, moved to the end, and the file cut after it; and members no
 * single byte can make inserted into every object. Deterministic (a seeded generator), so a
 * reported mutation can be made again from its description.
 */

/** A seeded generator (mulberry32): the same seed gives the same sample on every machine. */
export const rng = (seed: number) => {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n: number): number => Math.floor(next() * n) }
}

/**
 * The bytes written over or inserted at a position: the JSON structure characters, the escape
 * character, digits and number characters, whitespace of every kind the framing treats
 * specially (space, `\n`, `\r`), and bytes no UTF-8 text may hold where they land (NUL, a lone
 * continuation byte, 0xff). A random byte is added per position.
 */
export const VALUES: ReadonlyArray<number> = [
  0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, // " \ { } [ ] , :
  0x30, 0x31, 0x39, 0x2d, 0x2b, 0x2e, 0x65, 0x45, // 0 1 9 - + . e E
  0x20, 0x09, 0x0a, 0x0d, // space tab \n \r
  0x00, 0x80, 0xff, 0x75 // NUL, continuation byte, 0xff, u
]

export type Kind = "flip" | "set" | "insert" | "delete" | "member-insert" | "line-delete" | "line-duplicate" | "line-swap" | "line-to-end" | "cut-after"

export interface Mutation {
  readonly kind: Kind
  /** the byte position (byte kinds) or the 0-based physical line (line kinds) */
  readonly at: number
  /** the bit (flip) or the byte (set, insert) */
  readonly value: number
  readonly bytes: Buffer
}

export const describe = (m: Mutation): string =>
  m.kind === "flip"
    ? `flip bit ${m.value} of byte ${m.at}`
    : m.kind === "set"
    ? `set byte ${m.at} to 0x${m.value.toString(16).padStart(2, "0")}`
    : m.kind === "insert"
    ? `insert 0x${m.value.toString(16).padStart(2, "0")} before byte ${m.at}`
    : m.kind === "delete"
    ? `delete byte ${m.at}`
    : m.kind === "member-insert"
    ? `insert ${MEMBERS[m.value]} before byte ${m.at}`
    : `${m.kind} of line ${m.at + 1}`

/** One byte mutation of `src`: the file it makes. */
export const byteMutation = (src: Buffer, kind: "flip" | "set" | "insert" | "delete", at: number, value = 0): Mutation => {
  let bytes: Buffer
  switch (kind) {
    case "flip":
      bytes = Buffer.from(src)
      bytes[at] = bytes[at]! ^ (1 << value)
      break
    case "set":
      bytes = Buffer.from(src)
      bytes[at] = value
      break
    case "insert":
      bytes = Buffer.concat([src.subarray(0, at), Buffer.of(value), src.subarray(at)])
      break
    case "delete":
      bytes = Buffer.concat([src.subarray(0, at), src.subarray(at + 1)])
      break
  }
  return { kind, at, value, bytes }
}

/** The physical lines of `src` (without their `\n`), and whether the file ends with one. */
const physical = (src: Buffer): { lines: Array<Buffer>; trailing: boolean } => {
  const trailing = src.length > 0 && src[src.length - 1] === 0x0a
  const body = trailing ? src.subarray(0, src.length - 1) : src
  const lines: Array<Buffer> = []
  let from = 0
  for (;;) {
    const nl = body.indexOf(0x0a, from)
    if (nl < 0) break
    lines.push(body.subarray(from, nl))
    from = nl + 1
  }
  lines.push(body.subarray(from))
  return { lines, trailing }
}

const join = (lines: ReadonlyArray<Buffer>, trailing: boolean): Buffer =>
  Buffer.concat(lines.flatMap((l, i) => (i < lines.length - 1 || trailing ? [l, Buffer.of(0x0a)] : [l])))

/** Every line mutation of `src`: delete, duplicate, swap with the next, move to the end, cut after. */
export function* lineMutations(src: Buffer): Generator<Mutation> {
  const { lines, trailing } = physical(src)
  const n = lines.length
  for (let i = 0; i < n; i++) {
    const without = lines.filter((_, k) => k !== i)
    yield { kind: "line-delete", at: i, value: 0, bytes: join(without, trailing) }
    yield { kind: "line-duplicate", at: i, value: 0, bytes: join([...lines.slice(0, i + 1), lines[i]!, ...lines.slice(i + 1)], trailing) }
    if (i + 1 < n) {
      const swapped = [...lines]
      swapped[i] = lines[i + 1]!
      swapped[i + 1] = lines[i]!
      yield { kind: "line-swap", at: i, value: 0, bytes: join(swapped, trailing) }
    }
    if (i + 1 < n) yield { kind: "line-to-end", at: i, value: 0, bytes: join([...without, lines[i]!], trailing) }
    if (i + 1 < n) yield { kind: "cut-after", at: i, value: 0, bytes: join(lines.slice(0, i + 1), true) }
  }
}

/** Every byte mutation at position `at` (the full menu: 8 bit flips, every value set and inserted, a delete). */
export function* allAt(src: Buffer, at: number, random: number): Generator<Mutation> {
  for (let bit = 0; bit < 8; bit++) yield byteMutation(src, "flip", at, bit)
  for (const v of [...VALUES, random]) {
    if (v !== src[at]) yield byteMutation(src, "set", at, v)
    yield byteMutation(src, "insert", at, v)
  }
  yield byteMutation(src, "delete", at)
}

/**
 * The byte mutations of a run: with `full`, the whole menu at every position (and an insertion at
 * the end of the file); otherwise `perPosition` (2 unless given) at every position, drawn from the
 * seed: a byte changed in place (a bit flipped or a value written over it) and the length changed
 * (a value inserted before it, or the byte deleted), or with 1 one of the two; then `extra` more
 * drawn at random from the whole menu.
 */
export function* byteMutations(
  src: Buffer,
  options: { readonly full: boolean; readonly seed: number; readonly extra: number; readonly perPosition?: 1 | 2 | undefined }
): Generator<Mutation> {
  const r = rng(options.seed)
  const pick = () => (r.int(VALUES.length + 1) === VALUES.length ? r.int(256) : VALUES[r.int(VALUES.length)]!)
  for (let at = 0; at < src.length; at++) {
    const random = r.int(256)
    if (options.full) {
      yield* allAt(src, at, random)
      continue
    }
    const v = pick()
    const both = options.perPosition !== 1
    const inPlace = both || r.next() < 0.5
    if (inPlace) yield r.next() < 0.4 || v === src[at] ? byteMutation(src, "flip", at, r.int(8)) : byteMutation(src, "set", at, v)
    if (both || !inPlace) yield r.next() < 0.25 ? byteMutation(src, "delete", at) : byteMutation(src, "insert", at, pick())
  }
  for (const v of [...VALUES, r.int(256)]) yield byteMutation(src, "insert", src.length, v)
  if (!options.full) {
    const kinds = ["flip", "set", "insert", "delete"] as const
    for (let k = 0; k < options.extra; k++) {
      const kind = kinds[r.int(kinds.length)]!
      const at = r.int(src.length)
      const v = kind === "flip" ? r.int(8) : pick()
      if (kind === "set" && v === src[at]) continue
      yield byteMutation(src, kind, at, v)
    }
  }
}

/**
 * Members a byte cannot make: inserted after every `{` of the file. Names that a JavaScript
 * object treats specially (`__proto__`, `constructor`, `toString`) and a plain unknown name.
 */
export const MEMBERS: ReadonlyArray<string> = ['"__proto__":null,', '"__proto__":{"x":1},', '"constructor":"x",', '"toString":1,', '"x":1,']

/** Every member of `MEMBERS` inserted after every `{`. */
export function* memberInsertions(src: Buffer): Generator<Mutation> {
  for (let at = src.indexOf(0x7b); at >= 0; at = src.indexOf(0x7b, at + 1)) {
    for (let k = 0; k < MEMBERS.length; k++) {
      yield { kind: "member-insert", at: at + 1, value: k, bytes: Buffer.concat([src.subarray(0, at + 1), Buffer.from(MEMBERS[k]!), src.subarray(at + 1)]) }
    }
  }
}
