import type { HubModule } from '../kernel/hub-module.ts'
import { registerAuthRoutes } from './auth-routes.ts'
import { LoginThrottle } from './login-throttle.ts'
import { registerUserRoutes } from './user-routes.ts'

export interface AuthModuleOptions {
  readonly tokenTtlMinutes?: number
  readonly loginMaxFailures?: number
  readonly loginLockMinutes?: number
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
    routes(app, db) {
      registerAuthRoutes(app, db, {
        tokenTtlMinutes: options.tokenTtlMinutes ?? 720,
        throttle: new LoginThrottle(options.loginMaxFailures ?? 10, options.loginLockMinutes ?? 15),
      })
      registerUserRoutes(app, db)
    },
  }
}
