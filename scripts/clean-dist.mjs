// Empties dist/ before the build that `npm pack` and `npm publish` run (prepack), so a package
// carries only what the sources make today: no module left behind by a rename or a removal.
import { rmSync } from "node:fs"

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true })
