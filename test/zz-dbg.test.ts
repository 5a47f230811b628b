import { it } from "vitest"
import { assignments } from "../src/internal/assignments.js"
import * as Detect from "../src/Detect.js"
import * as fs from "node:fs"
it("dbg", () => {
  const out: string[] = [`builtins ${Detect.builtins.length}`]
  assignments.forEach((d, i) => out.push(`${i} ${d.category} hint=${d.hint?.source.slice(0, 60)}\n   ${d.pattern.source.slice(0, 400)}`))
  fs.writeFileSync("/tmp/dbg.out", out.join("\n"))
})
