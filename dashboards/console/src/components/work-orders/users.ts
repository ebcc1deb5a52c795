import { computed, ref } from 'vue'
import { api, type Page } from '../../api/client.ts'
import { session } from '../../session/session.ts'
import type { UserRow } from './work-orders.ts'

/**
 * The people an order can be assigned to and whose names the timeline shows: the users the
 * caller administers (`GET /api/v1/users`, an admin's list), else only the caller.
 */
export function useUsers() {
  const list = ref<UserRow[]>([])
  const loaded = ref(false)
  async function load() {
    try {
      const page = await api.get<Page<UserRow>>('/api/v1/users', { query: { limit: 500 }, quiet: true })
      list.value = page.items.filter((u) => !u.disabled)
    } catch {
      list.value = []
    }
    const me = session.me
    if (me && !list.value.some((u) => u.id === me.id))
      list.value = [
        { id: me.id, username: me.username, displayName: me.displayName, disabled: false },
        ...list.value,
      ]
    loaded.value = true
  }
  const byId = computed(() => new Map(list.value.map((u) => [u.id, u])))
  function nameOf(id: string | null | undefined): string {
    if (!id) return ''
    const user = byId.value.get(id)
    return user ? user.displayName || user.username : id.slice(0, 8)
  }
  return { list, loaded, load, nameOf }
}
