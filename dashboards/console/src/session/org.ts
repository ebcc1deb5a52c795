import { computed, reactive } from 'vue'
import { type HubItem, hub } from '../api/hub.ts'
import { markNavigationStart } from '../composables/usePageTiming.ts'
import { session } from './session.ts'

export type OrgKind = 'group' | 'company' | 'estate'

/** A node of the organisation tree, as `GET /api/v1/org-nodes` answers. */
export type OrgNode = HubItem<'/api/v1/org-nodes'>

export interface OrgTreeNode {
  readonly value: string
  readonly label: string
  readonly kind: OrgKind
  readonly children: OrgTreeNode[]
}

const KEY = 'estatehub.orgNode'

/**
 * The organisation nodes the user may see (the hub answers only those: someone granted on an
 * estate sees the estate, not its company) and the one picked in the top bar.
 */
export const org = reactive({
  nodes: [] as OrgNode[],
  selectedId: null as string | null,
  loaded: false,
})

export async function loadOrg() {
  const nodes: OrgNode[] = []
  for (let offset = 0; ; offset += 500) {
    const page = await hub.get('/api/v1/org-nodes', { query: { limit: 500, offset } })
    nodes.push(...page.items)
    if (nodes.length >= page.total || page.items.length === 0) break
  }
  org.nodes = nodes
  const saved = localStorage.getItem(`${KEY}.${session.username ?? ''}`)
  const firstEstate = nodes.find((n) => n.kind === 'estate')
  org.selectedId = nodes.some((n) => n.id === saved) ? saved : (firstEstate?.id ?? nodes[0]?.id ?? null)
  org.loaded = true
}

export function resetOrg() {
  org.nodes = []
  org.selectedId = null
  org.loaded = false
}

/** Picks a group, company or estate; remembered per user on this device. */
export function selectNode(id: string) {
  if (!org.nodes.some((n) => n.id === id) || org.selectedId === id) return
  // The page is shown anew for the picked node (AppShell keys it by the node): time it so.
  markNavigationStart()
  org.selectedId = id
  localStorage.setItem(`${KEY}.${session.username ?? ''}`, id)
}

const byId = computed(() => new Map(org.nodes.map((n) => [n.id, n])))

/** The visible tree: nodes whose parent the user cannot see are roots. */
export const orgTree = computed<OrgTreeNode[]>(() => {
  const children = new Map<string | null, OrgNode[]>()
  for (const node of org.nodes) {
    const parent = node.parentId && byId.value.has(node.parentId) ? node.parentId : null
    children.set(parent, [...(children.get(parent) ?? []), node])
  }
  const build = (parent: string | null): OrgTreeNode[] =>
    (children.get(parent) ?? []).map((n) => ({
      value: n.id,
      label: n.name,
      kind: n.kind,
      children: build(n.id),
    }))
  return build(null)
})

export const selectedNode = computed(() => (org.selectedId ? byId.value.get(org.selectedId) : undefined))

/** The estates under the picked node (the node itself when it is an estate), by code. */
export const estatesInScope = computed<OrgNode[]>(() => {
  const selected = selectedNode.value
  if (!selected) return []
  const under = (node: OrgNode): boolean => {
    for (let n: OrgNode | undefined = node; n; n = n.parentId ? byId.value.get(n.parentId) : undefined)
      if (n.id === selected.id) return true
    return false
  }
  return org.nodes.filter((n) => n.kind === 'estate' && under(n)).sort((a, b) => a.code.localeCompare(b.code))
})

/**
 * For pages that show one estate: the picked estate, or the first one under the picked
 * company or group. `estates` holds every estate in scope, for pages that can show several.
 */
export function useEstate() {
  const estate = computed(() => estatesInScope.value[0])
  return {
    estate,
    estateId: computed(() => estate.value?.id),
    estates: estatesInScope,
    node: selectedNode,
  }
}
