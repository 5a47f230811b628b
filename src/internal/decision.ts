/**
 * The current decision of a fiber, shared by `AuditLog` (which sets it) and `Capture` (which
 * reads it for calls captured outside Effect).
 */
import * as FiberRef from "effect/FiberRef"

/** The innermost open decision of the current fiber (`null` outside any). */
export const currentDecision: FiberRef.FiberRef<string | null> = FiberRef.unsafeMake<string | null>(null)
