/**
 * `acttrace scan --detectors` (issue 15, item 4) and placeholder rows in its output (item 5), run
 * as the executable (`bin/acttrace.js` on `dist/`).
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { cli, tempDir } from "./helpers.js"

const tmp = tempDir()
afterAll(() => tmp.cleanup())

const text = "nino NI AB 12 34 56 C, aadhaar 2341 2341 2346, host 10.20.30.40, mail a@example.com\n"
const file = join(tmp.dir, "people.txt")
writeFileSync(file, text)

interface Row {
  readonly category: string
  readonly group: string
  readonly severity: string
  readonly action: string
  readonly count: number
  readonly placeholder?: true
}
const json = (args: ReadonlyArray<string>, input?: string) => {
  const r = cli(["scan", ...args, "--json"], {}, input)
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as { readonly verdict: string; readonly findings: ReadonlyArray<Row> }
}

describe("acttrace scan --detectors", () => {
  it("+uk_nino,+aadhaar,-ipv4: the opt-ins found, ipv4 not", () => {
    expect(json([file]).findings.map((f) => f.category)).toEqual(["email", "ipv4"])
    expect(json([file, "--detectors", "+uk_nino,+aadhaar,-ipv4"]).findings.map((f) => f.category)).toEqual(["aadhaar", "email", "uk_nino"])
    // a first item that starts with -, alone or after =, and a bare name
    expect(json([file, "--detectors", "-ipv4,uk_nino"]).findings.map((f) => f.category)).toEqual(["email", "uk_nino"])
    expect(json([file, "--detectors=-ipv4"]).findings.map((f) => f.category)).toEqual(["email"])
    // standard input, the option before the input
    expect(json(["--detectors", "+aadhaar", "-"], text).findings.map((f) => f.category)).toEqual(["aadhaar", "email", "ipv4"])
  })

  it("an unknown name: a usage error, exit 2, naming the known categories and the opt-in ones", () => {
    const r = cli(["scan", file, "--detectors", "+uk_nino,+nino"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    const lines = r.stderr.trimEnd().split("\n")
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^error: unknown detector "\+nino": the categories are .*\bemail\b.*\bipv4\b.*; opt-in \(add with \+NAME\): uk_nino, aadhaar, high_entropy$/)
    expect(lines[1]).toBe("usage: acttrace scan [FILE|-] [--policy default|gdpr|pci|strict|flag-only] [--detectors [+|-]NAME[,...]] [--json]")
  })
})

describe("acttrace scan: placeholders", () => {
  it("--json: a placeholder row carries placeholder: true and severity info; real rows keep their shape", () => {
    const real = "AKIAQ3EGWXK7N2PZ5RT4"
    const out = json(["-"], `keys ${real} and AKIAIOSFODNN7EXAMPLE\n`)
    expect(out.findings).toEqual([
      { category: "aws_key", group: "secret", severity: "critical", action: "redact", count: 1 },
      { category: "aws_key", group: "secret", severity: "info", action: "redact", count: 1, placeholder: true }
    ])
    // strict: the real key blocks (exit 1), a placeholder alone does not (exit 0)
    expect(cli(["scan", "-", "--policy", "strict"], {}, `key ${real}`).code).toBe(1)
    const alone = cli(["scan", "-", "--policy", "strict"], {}, "key AKIAIOSFODNN7EXAMPLE")
    expect(alone.code, alone.stderr).toBe(0)
    expect(alone.stdout).toBe("aws_key (secret, info, placeholder) redact ×1\n1 finding in text; policy strict: redact\n")
  })
})
