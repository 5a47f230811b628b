import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Redactor from "../src/Redactor.js"

const r = Redactor.defaultRedactor

describe("Redactor.layerDefault", () => {
  it("leaves ordinary identifiers alone", () => {
    const ordinary = {
      uuid: "3f2b8c1e-9a4d-4c7e-b1f0-6d2a9e8c7b5a",
      git: "9fceb02d0ae598e95dc970b74767f19372d61af8",
      sha256: "c0066a335a9c5d1e7f0b9a8c6d4e2f1a3b5c7d9e0f1a2b3c4d5e6f708192a3b4",
      ts: "2026-11-27T12:00:00.001001+00:00",
      version: "v1.2.3-rc.1+build.5",
      pod: "payments-api-7d9f8b6c5d-x2k4q",
      price: "$1,234.56",
      order: "ORD-2026-000123",
      unix: 1764244800,
      model: "claude-sonnet-4-5",
      prose: "The bearer of this note asked about the task-12345 backlog and risk-based pricing.",
      decision_id: "0000000000000000000000005eed0178",
      path: "/api/v1/users/42/orders?sort=desc"
    }
    const out = r.redact(ordinary)
    expect(out.findings).toEqual([])
    expect(out.value).toEqual(ordinary)
  })

  it("scrubs each category in a value and in a key, without touching the rest", () => {
    const cases: ReadonlyArray<[string, string]> = [
      ["email", "contact: ana.silva@example.com today"],
      ["api_key", "key=sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"],
      ["api_key", "use sk-ABCDEFGH12345678 here"],
      ["aws_key", "AKIAIOSFODNN7EXAMPLE"],
      ["google_api_key", "AIzaSyA1234567890abcdefghijklmnopqrstuv"],
      ["jwt", "https://app.example/cb?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnop"],
      ["bearer_token", "Authorization: Bearer abcdefghijklmnopqrstuvwx"],
      ["github_token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"],
      ["slack_token", "xoxp-1234567890-abcdefghij"],
      ["private_key", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"]
    ]
    for (const [category, text] of cases) {
      const v = r.redact({ note: `before ${text} after`, [text]: 1 })
      expect(v.findings.map((f) => f.category), category).toEqual([category])
      expect(v.findings[0]!.count, category).toBe(2)
      expect(JSON.stringify(v.value), category).toContain("before ")
      expect(JSON.stringify(v.value), category).toContain(" after")
      expect(JSON.stringify(v.value), category).not.toContain(text)
    }
  })

  it.prop("is idempotent, and what it leaves matches nothing", [fc.array(fc.oneof(fc.string(), fc.constantFrom("a@b.co", "sk-ant-abcdefghijklmnopqrstuvwxyz", "Bearer abcdefghijklmnopqrstuvwxyz", "AKIAIOSFODNN7EXAMPLE")), { maxLength: 8 })], ([parts]) => {
    const once = r.redact({ text: parts.join(" "), list: parts })
    const twice = r.redact(once.value)
    expect(twice.findings).toEqual([])
    expect(twice.value).toEqual(once.value)
  })

  it("does not change the caller's value", () => {
    const input = { user: { email: "x.y@example.com" } }
    const out = r.redact(input)
    expect(input.user.email).toBe("x.y@example.com")
    expect(out.value).toEqual({ user: { email: "<redacted>" } })
  })
})
