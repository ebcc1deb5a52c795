// Runs inside the page: the browser tests add it to every document of their contexts
// (BrowserSuite.newPage). It times a page's data in the page's own clock, from the user's
// input (the pointerdown or keydown that starts the navigation; for a reload or goto, the
// document's navigation start) to the first animation frame in which the watched element is
// visible, i.e. the frame that paints it. Playwright's own waiting polls 20, 50, 100, 100,
// then every 500 ms, so the time it sees is late by up to half a second; this is not.
;(() => {
  const KEY = 'estatehub.test.shownWatch'
  const state = { css: null, text: null, armedAt: 0, inputAt: null, shownAt: null }

  function isVisible(element) {
    const box = element.getBoundingClientRect()
    if (box.width === 0 || box.height === 0) return false
    return typeof element.checkVisibility === 'function'
      ? element.checkVisibility({ visibilityProperty: true })
      : true
  }

  function isShown() {
    for (const element of document.querySelectorAll(state.css)) {
      if (state.text !== null && !(element.textContent || '').includes(state.text)) continue
      if (isVisible(element)) return true
    }
    return false
  }

  function onFrame() {
    if (state.css === null || state.shownAt !== null) return
    // Only what appears after the input counts (an element already there is "shown" by the
    // first frame after it).
    if (state.inputAt !== null && document.body && isShown()) {
      state.shownAt = performance.now()
      return
    }
    requestAnimationFrame(onFrame)
  }

  function onInput(event) {
    if (state.css !== null && state.inputAt === null) state.inputAt = event.timeStamp
  }
  addEventListener('pointerdown', onInput, true)
  addEventListener('keydown', onInput, true)

  function arm(css, text, byNavigation) {
    state.css = css
    state.text = text
    state.armedAt = byNavigation ? 0 : performance.now()
    state.inputAt = byNavigation ? 0 : null
    state.shownAt = null
    requestAnimationFrame(onFrame)
  }

  function storage() {
    try {
      return window.sessionStorage
    } catch {
      return null // about:blank and other opaque origins have none
    }
  }

  window.__ehShown = {
    /** Watches for `css` (with `text` in it, if given) from the next input or navigation. */
    watch(css, text) {
      storage()?.setItem(KEY, JSON.stringify({ css, text }))
      arm(css, text, false)
    },
    /** null until shown; then the milliseconds from the input to the painting frame. */
    result() {
      if (state.shownAt === null) return null
      storage()?.removeItem(KEY)
      return Math.round(state.shownAt - (state.inputAt ?? state.armedAt))
    },
    /** Times from when the watch was armed: for a wait with no input or navigation to start it. */
    startNow() {
      if (state.inputAt === null) state.inputAt = state.armedAt
    },
  }

  // A watch armed before a reload or goto carries over to the new document, timed from its
  // navigation start.
  const pending = storage()?.getItem(KEY)
  if (pending) {
    const { css, text } = JSON.parse(pending)
    arm(css, text, true)
  }
})()
