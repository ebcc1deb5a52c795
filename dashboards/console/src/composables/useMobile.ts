import { type Ref, readonly, ref } from 'vue'

/** Phone-sized screens (the 390×844 views): the menu becomes a drawer, tables give way to cards. */
export const MOBILE_QUERY = '(max-width: 768px)'

const query = window.matchMedia(MOBILE_QUERY)
const mobile = ref(query.matches)
query.addEventListener('change', (event) => {
  mobile.value = event.matches
})

/** True on a phone-sized screen; follows resizes and rotation. */
export function useMobile(): Readonly<Ref<boolean>> {
  return readonly(mobile)
}
