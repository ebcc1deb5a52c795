import { org } from '../../session/org.ts'
import { session } from '../../session/session.ts'

/**
 * Whether the logged-in user may change fee items, standards and assignments of `estateId`:
 * a grant holding `billing.configure` (the hub lists each grant's permissions in
 * /api/v1/auth/me) on the whole organisation, the estate, or a node above it. The granted node
 * is visible to them (GET /api/v1/org-nodes), so the chain up to it is known. The hub decides
 * every write; the console only leaves out the buttons it would refuse (403).
 */
export function canConfigureFees(estateId: string | undefined): boolean {
  const me = session.me
  if (!me || !estateId) return false
  const byId = new Map(org.nodes.map((node) => [node.id, node]))
  const above = new Set<string>([estateId])
  for (let node = byId.get(estateId); node?.parentId; node = byId.get(node.parentId)) above.add(node.parentId)
  return me.grants.some(
    (grant) =>
      grant.permissions.includes('billing.configure') && (grant.nodeId === null || above.has(grant.nodeId)),
  )
}
