/**
 * `acttrace scan` reads what it is given or says it cannot (issue 15, R7 and R15 of the hostile
 * review): a UTF-16 file is decoded by its byte-order mark, bytes that are not text are refused
 * with exit 2, never scanned as garbage and passed as `allow`; an option without its value is
 * named as such.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { cliInProcess } from "./cli-in-process.js"
import { spawnSync } from "node:child_process"
import { BIN, tempDir } from "./helpers.js"

const tmp = tempDir()
afterAll(() => tmp.cleanup())

const secret = "DB_PASSWORD=Kx9mQ2zzP\nAKIAQ3EGWXK7N2PZ5RT4\n"

const file = (name: string, bytes: Uint8Array): string => {
  const path = join(tmp.dir, name)
  writeFileSync(path, bytes)
  return path
}

/** `text` in UTF-16, big- or little-endian, with or without its byte-order mark. */
const utf16 = (text: string, endian: "le" | "be", bom: boolean): Buffer => {
  const le = Buffer.from((bom ? "\ufeff" : "") + text, "utf16le")
  return endian === "le" ? le : Buffer.from(le).swap16()
}

const categories = (stdout: string): ReadonlyArray<string> =>
  (JSON.parse(stdout) as { readonly findings: ReadonlyArray<{ readonly category: string }> }).findings.map((f) => f.category)

describe("acttrace scan: the input's encoding (R7)", () => {
  it("UTF-16LE and UTF-16BE with a byte-order mark are decoded by it: the same findings as UTF-8, exit 1 under strict", async () => {
    const plain = await cliInProcess(["scan", file("u8.txt", Buffer.from(secret)), "--policy", "strict", "--json"])
    expect(plain.code).toBe(1)
    expect(categories(plain.stdout)).toEqual(["aws_key", "password"])
    for (const endian of ["le", "be"] as const) {
      const r = await cliInProcess(["scan", file(`u16${endian}.txt`, utf16(secret, endian, true)), "--policy", "strict", "--json"])
      expect(r.stderr).toBe("")
      expect(r.code).toBe(1)
      expect(r.stdout).toBe(plain.stdout)
    }
  })

  it("JSON behind a byte-order mark (UTF-8 or UTF-16) is read as JSON, not as text", async () => {
    const json = '{"api_key": "AKIAQ3EGWXK7N2PZ5RT4"}\n'
    for (const [name, bytes] of [["bom8.json", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)])], ["bom16.json", utf16(json, "le", true)]] as const) {
      const r = await cliInProcess(["scan", file(name, bytes), "--json"])
      expect(r.stderr).toBe("")
      expect((JSON.parse(r.stdout) as { readonly input: string }).input).toBe("json")
    }
  })

  it("bytes that are not UTF-8 (no byte-order mark) are refused: exit 2, the byte named, nothing on stdout", async () => {
    const latin1 = file("latin1.txt", Buffer.from("password=Kx9mQ2zzP caf\xe9\n", "latin1"))
    const r = await cliInProcess(["scan", latin1, "--json"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/^error: .*latin1\.txt is not UTF-8 text \(byte 23 is not part of a UTF-8 character\)/)
    expect(r.stderr).toContain("usage: acttrace scan")
  })

  it("UTF-16 without a byte-order mark (NUL bytes between the letters) and UTF-32 are refused, never allowed", async () => {
    for (const [name, bytes] of [
      ["nobom16.txt", utf16(secret, "le", false)],
      ["u32.txt", Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from("A\0\0\0")])],
      ["binary.bin", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])]
    ] as const) {
      const r = await cliInProcess(["scan", file(name, bytes), "--json"])
      expect(r.code, `${name}: ${r.stdout}`).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(/^error: /)
    }
  })

  it("a UTF-16 byte-order mark followed by bytes that are not UTF-16 (a lone surrogate) is refused", async () => {
    const bad = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a\0"), Buffer.from([0x00, 0xd8]), Buffer.from("b\0")])
    const r = await cliInProcess(["scan", file("lone.txt", bad), "--json"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/not UTF-16/)
  })

  it("standard input: the same rules (the executable, bytes through a pipe)", () => {
    const cli = (args: ReadonlyArray<string>, input: Buffer) => {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", input, timeout: 60_000 })
      return { code: r.status, stdout: r.stdout, stderr: r.stderr }
    }
    const r = cli(["scan", "-", "--policy", "strict", "--json"], utf16(secret, "le", true))
    expect(r.code, r.stderr).toBe(1)
    expect(categories(r.stdout)).toEqual(["aws_key", "password"])
    const bad = cli(["scan", "--json"], Buffer.from("caf\xe9\n", "latin1"))
    expect(bad.code).toBe(2)
    expect(bad.stdout).toBe("")
    expect(bad.stderr).toMatch(/^error: standard input is not UTF-8 text/)
  })
})

describe("acttrace scan: an option without its value (R15)", () => {
  it("--detectors - / --detectors --json / --detectors at the end / --policy -: the option is said to need a value, exit 2", async () => {
    for (const args of [["scan", "-", "--detectors", "-", "--json"], ["scan", "--detectors", "--json"], ["scan", "--detectors"], ["scan", "--policy", "-"], ["scan", "x.txt", "--policy"], ["scan", "--detectors="], ["scan", "-", "--detectors=-"]]) {
      const r = await cliInProcess(args)
      const option = args.some((a) => a.startsWith("--detectors")) ? "--detectors" : "--policy"
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr.split("\n")[0], args.join(" ")).toMatch(new RegExp(`^error: ${option} needs a value`))
      expect(r.stderr).not.toMatch(/unknown detector|cannot read/)
    }
  })

  it("a value that merely starts with - is still a value (--detectors -ipv4)", async () => {
    const r = await cliInProcess(["scan", file("ip.txt", Buffer.from("host 10.20.30.40\n")), "--detectors", "-ipv4", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(categories(r.stdout)).toEqual([])
  })
})
