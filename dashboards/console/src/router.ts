import { createRouter, createWebHistory, type RouteLocationNormalized, type RouteRecordRaw } from 'vue-router'
import { hub } from './api/hub.ts'
import { markNavigationStart } from './composables/usePageTiming.ts'
import { i18n } from './i18n/index.ts'
import AppShell from './layout/AppShell.vue'
import LoginPage from './pages/LoginPage.vue'
import { detailRoutes, pages } from './pages.ts'
import { loadOrg, org, resetOrg } from './session/org.ts'
import { clearSession, isLoggedIn, session } from './session/session.ts'

declare module 'vue-router' {
  interface RouteMeta {
    /** No login needed (the login page). */
    public?: boolean
    /** Catalogue key of the page's title (document title). */
    titleKey?: string
    /** The menu entry to highlight. */
    menu?: string
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: LoginPage, meta: { public: true, titleKey: 'login.title' } },
  {
    path: '/',
    component: AppShell,
    redirect: '/overview',
    children: [
      ...pages.map((page) => ({
        path: page.path.slice(1),
        name: page.name,
        component: page.component,
        meta: { titleKey: `pages.${page.name}.title`, menu: page.path },
      })),
      ...detailRoutes.map((route) => ({
        path: route.path.slice(1),
        name: route.name,
        component: route.component,
        meta: { titleKey: route.titleKey, menu: pages.find((p) => p.name === route.parent)?.path ?? '/' },
      })),
      {
        path: ':unknown(.*)*',
        name: 'notFound',
        component: () => import('./pages/NotFoundPage.vue'),
        meta: { titleKey: 'notFound.title' },
      },
    ],
  },
]

export const router = createRouter({ history: createWebHistory('/'), routes })

/** Loads who the user is and the organisation nodes they may see (together), once per login. */
export async function loadUser() {
  await Promise.all([
    session.me ? undefined : hub.get('/api/v1/auth/me').then((me) => (session.me = me)),
    org.loaded ? undefined : loadOrg(),
  ])
}

/** Starts fetching the page's code now, alongside the login check, not after it. */
function prefetchComponents(to: RouteLocationNormalized) {
  for (const record of to.matched) {
    const component = record.components?.default
    // A lazy page is a function answering a promise; the router's own resolve gets it cached.
    if (typeof component === 'function')
      Promise.resolve()
        .then(() => (component as () => Promise<unknown>)())
        .catch(() => {})
  }
}

router.beforeEach(async (to) => {
  markNavigationStart()
  prefetchComponents(to)
  if (to.meta.public) {
    if (to.name === 'login' && isLoggedIn()) return { path: '/overview' }
    return true
  }
  if (!isLoggedIn()) {
    clearSession()
    return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
  }
  try {
    await loadUser()
  } catch {
    // A 401 already sent the user to the login page; any other failure was shown.
    if (!isLoggedIn()) return { name: 'login' }
  }
  return true
})

/** The browser tab's title for the current page, in the current language (App.vue keeps it). */
export function pageTitle(): string {
  const key = router.currentRoute.value.meta.titleKey
  const title = key ? i18n.global.t(key) : ''
  return title ? `${title} · ${i18n.global.t('app.name')}` : i18n.global.t('app.title')
}

// Once a logged-in page is on screen, fetch every other page's code while the user reads it:
// the first click on a menu entry then waits for its data only (the 1 s budget), not its chunk.
let prefetched = false
router.afterEach((to) => {
  if (prefetched || to.meta.public || !isLoggedIn()) return
  prefetched = true
  setTimeout(() => {
    for (const page of pages) void page.component().catch(() => undefined)
  }, 300)
})

/** Ends the session on this side and shows the login page, coming back here after. */
export function toLogin() {
  const current = router.currentRoute.value
  clearSession()
  resetOrg()
  if (current.name !== 'login')
    void router.replace({
      name: 'login',
      query: current.meta.public || current.fullPath === '/' ? {} : { redirect: current.fullPath },
    })
}
