// The user guide's "Testing" example, exactly as it is printed there (only the package's name
// is this repository's path), run as a test; the last test holds the two texts equal.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { AuditLog, Redactor, Store } from "../src/index.js"

// the app's code: it writes to whichever audit log is in context
const triage = (applicant: string) =>
  AuditLog.withDecision({ input: { applicant }, actor: "triage-agent" }, (d) =>
    d.record({ recommendation: "refer" })
  )

describe("triage", () => {
  it.effect("records its decision", () =>
    Effect.gen(function* () {
      yield* triage("A-17")
      const entries = yield* AuditLog.entries
      expect(entries.map((e) => e.type)).toEqual(["audit_open", "decision", "decision_record", "decision_end"])
      expect(entries[2]?.payload).toMatchObject({ recommendation: "refer" })
    }).pipe(Effect.provide(AuditLog.layerTest()))
  )

  // a bounded memory store and the default redactor instead of the test's defaults
  const Redacting = AuditLog.layerTest({
    store: Store.layerMemory({ capacity: 1_000 }),
    redactor: Redactor.layerDefault
  })

  it.effect("never writes an applicant's e-mail address", () =>
    Effect.gen(function* () {
      yield* triage("jane.doe@example.com")
      const entries = yield* AuditLog.entries
      expect(entries[1]?.payload["input"]).toEqual({ applicant: "<redacted>" })
      expect(entries[2]).toMatchObject({ type: "policy_flag", payload: { action: "redacted", auto: true } })
    }).pipe(Effect.provide(Redacting))
  )
})

// ---------------------------------------------------------------------------------------------
// (not part of the example)

import { readFileSync } from "node:fs"

describe("the user guide's Testing section", () => {
  it("prints this file's example, word for word", () => {
    const guide = readFileSync(new URL("../docs/user-guide.md", import.meta.url), "utf8")
    const section = guide.slice(guide.indexOf("## Testing"), guide.indexOf("\n## ", guide.indexOf("## Testing") + 1))
    const printed = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
    const here = readFileSync(new URL(import.meta.url), "utf8")
    const example = here.slice(here.indexOf("\n", here.indexOf("// is this repository")) + 1, here.indexOf("\n// -----"))
    expect(printed?.replace('from "acttrace"', 'from "../src/index.js"')).toBe(example)
  })
})
