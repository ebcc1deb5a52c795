import { computed, ref } from 'vue'
import { type HubItem, hub } from '../../api/hub.ts'
import { session } from '../../session/session.ts'

/** Someone an estate's orders can be assigned to (`GET /api/v1/work-orders/assignees`). */
export type Assignee = HubItem<'/api/v1/work-orders/assignees'>

interface Named {
  readonly id: string
  readonly username: string
  readonly displayName: string | null
}

const isAdmin = () => session.me?.grants.some((g) => g.role === 'admin') ?? false

/**
 * The people an estate's orders can be assigned to and the names the timeline shows. The
 * assign picker lists the estate's assignees, which anyone who works orders may read (so the
 * service desk can pick an engineer). Names come from the same list; an admin also reads the
 * users they administer, so that someone since disabled or moved away keeps a name.
 */
export function useUsers() {
  const list = ref<Assignee[]>([])
  const known = ref<Named[]>([])
  const loaded = ref(false)
  async function load(estateId: string | null | undefined) {
    // Quiet: a viewer may not list assignees, and names are a nicety, not the page's data.
    const [assignees, administered] = await Promise.all([
      estateId
        ? hub
            .get('/api/v1/work-orders/assignees', { query: { estateId }, quiet: true })
            .then((answer) => answer.items)
            .catch(() => [])
        : [],
      isAdmin()
        ? hub
            .get('/api/v1/users', { query: { limit: 500 }, quiet: true })
            .then((page) => page.items)
            .catch(() => [])
        : [],
    ])
    list.value = assignees
    known.value = [...assignees, ...administered, ...(session.me ? [session.me] : [])]
    loaded.value = true
  }
  const byId = computed(() => {
    const names = new Map<string, Named>()
    for (const user of known.value) if (!names.has(user.id)) names.set(user.id, user)
    return names
  })
  function nameOf(id: string | null | undefined): string {
    if (!id) return ''
    const user = byId.value.get(id)
    return user ? user.displayName || user.username : id.slice(0, 8)
  }
  return { list, loaded, load, nameOf }
}
