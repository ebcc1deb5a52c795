import { computed, ref } from 'vue'
import {
  type Approval,
  type ApprovalKind,
  type CustomerPayment,
  customerPayments,
  listApprovals,
} from './approval-api.ts'

/** How many of the customer's payments the desk lists (the newest): enough to correct today's. */
const RECENT_PAYMENTS = 10

/**
 * The desk's side of approvals for the customer on screen: their recent payments, the
 * requests still waiting for a second person, and what this user may ask for. Loaded after
 * the open lines, apart from them, so the payment itself never waits for it.
 */
export function useDeskApprovals() {
  const payments = ref<CustomerPayment[]>([])
  const waiting = ref<Approval[]>([])
  const mayRequest = ref<ApprovalKind[]>([])
  const loading = ref(false)
  // A later load (another customer, a refresh) wins over an earlier one still on its way.
  let generation = 0

  const waitingByPayment = computed(() => {
    const map = new Map<string, Approval[]>()
    for (const a of waiting.value) if (a.paymentId) map.set(a.paymentId, [...(map.get(a.paymentId) ?? []), a])
    return map
  })
  const waitingByLine = computed(
    () => new Map(waiting.value.flatMap((a) => (a.receivableId ? [[a.receivableId, a] as const] : []))),
  )

  async function load(estateId: string, customerId: string) {
    const mine = ++generation
    loading.value = true
    try {
      const [paid, requests] = await Promise.all([
        customerPayments(customerId, RECENT_PAYMENTS),
        listApprovals({ estateId, customerId, status: 'requested', limit: 100 }),
      ])
      if (mine !== generation) return
      payments.value = paid.items
      waiting.value = requests.items
      mayRequest.value = requests.mayRequest
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  function clear() {
    generation++
    payments.value = []
    waiting.value = []
    loading.value = false
  }

  return {
    payments,
    mayRequest,
    loading,
    load,
    clear,
    /** The requests waiting on this payment (a void, refunds). */
    waitingOn: (paymentId: string) => waitingByPayment.value.get(paymentId) ?? [],
    /** The waiver waiting on this open line, if any. */
    waiverOn: (receivableId: string) => waitingByLine.value.get(receivableId),
    may: (kind: ApprovalKind) => mayRequest.value.includes(kind),
  }
}
