import { nextTick, ref } from 'vue'

// performance.now() when the current navigation began: 0 for the first page of a load (the
// document's own navigation start, so it includes fetching the app), then each router
// navigation's start (set by the router's beforeEach).
let navigationStart = 0
let firstNavigation = true

/** Called by the router at the start of every navigation. */
export function markNavigationStart() {
  navigationStart = firstNavigation ? 0 : performance.now()
  firstNavigation = false
}

/**
 * Measures how long a page took to show its data: call `markLoaded()` once the first data
 * is on screen (after the assignment that renders it), and bind `loadedMs` to the page root
 * (`<PageFrame :loaded-ms="loadedMs">` does it), which sets `data-loaded-ms` for the browser
 * tests' 1 s budget. Only the first call counts.
 */
export function usePageTiming() {
  const start = navigationStart
  const loadedMs = ref<number | null>(null)
  async function markLoaded() {
    if (loadedMs.value !== null) return
    await nextTick()
    // The frame after the DOM update is when the data is painted.
    await new Promise<void>((resolve) => requestAnimationFrame(() => resolve()))
    if (loadedMs.value === null) loadedMs.value = Math.round(performance.now() - start)
  }
  return { loadedMs, markLoaded }
}
