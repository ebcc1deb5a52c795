import type { HubModule } from '../kernel/hub-module.ts'
import { registerAuthRoutes } from './auth-routes.ts'
import { LoginThrottle, type ThrottleKind, type ThrottlePolicy } from './login-throttle.ts'
import * as loginThrottleMigration from './migrations/0010-login-throttle.ts'
import { registerUserRoutes } from './user-routes.ts'

export interface AuthModuleOptions {
  readonly tokenTtlMinutes?: number
  /** Not in the hub's config: tests that log in wrongly on purpose many times loosen these. */
  readonly throttlePolicies?: Partial<Record<ThrottleKind, ThrottlePolicy>>
}

/** Logins, sessions and users. Authentication itself is a hook the app adds for every route. */
export function authModule(options: AuthModuleOptions = {}): HubModule {
  return {
    name: 'auth',
    tags: [
      { name: 'auth', description: 'Log in and out, the session and its grants' },
      { name: 'users', description: 'Users, passwords and role grants' },
    ],
    permissions: ['users.manage'],
    migrations: { '0010-login-throttle': loginThrottleMigration },
    routes(app, db) {
      const throttle = new LoginThrottle(db, options.throttlePolicies)
      registerAuthRoutes(app, db, { tokenTtlMinutes: options.tokenTtlMinutes ?? 720, throttle })
      registerUserRoutes(app, db, throttle)
    },
  }
}
