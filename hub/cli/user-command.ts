import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { AccountError, checkPasswordStrength, createUser, grantRole } from '../auth/user-accounts.ts'
import { loadHubConfig } from '../config/hub-config.ts'
import { roles } from '../kernel/roles.ts'
import type { Database, Role } from '../store/database-schema.ts'
import { openMigratedStore } from './open-hub-store.ts'

interface UserOptions {
  config?: string
  role?: string
  node?: string
  displayName?: string
  passwordStdin?: boolean
}

function parseRole(role: string): Role {
  if (!(roles as readonly string[]).includes(role))
    throw new Error(`--role: unknown role "${role}"; one of ${roles.join(', ')}`)
  return role as Role
}

async function nodeIdOf(db: Kysely<Database>, code: string | undefined): Promise<string | null> {
  if (code === undefined) return null
  const node = await db.selectFrom('orgNodes').select('id').where('code', '=', code).executeTakeFirst()
  if (!node) throw new Error(`--node: no organisation node with code "${code}"`)
  return node.id
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

/** 16 random characters: zxcvbn scores such a password 4, so the generated one passes the same check. */
function generatedPassword(account: { username: string; displayName?: string }): string {
  for (;;) {
    const password = randomBytes(12).toString('base64url')
    try {
      checkPasswordStrength(password, account)
      return password
    } catch {
      // A random draw that happens to hold the username or a word: draw again.
    }
  }
}

/** `estatehub user add`: how the first admin comes to exist on a fresh install. */
export async function addUser(username: string, options: UserOptions) {
  const role = options.role === undefined ? undefined : parseRole(options.role)
  const store = await openMigratedStore(loadHubConfig(options.config))
  try {
    const nodeId = await nodeIdOf(store.db, options.node)
    const generated = !options.passwordStdin
    const account = {
      username,
      ...(options.displayName ? { displayName: options.displayName } : {}),
    }
    const password = generated ? generatedPassword(account) : await readStdin()
    // The same check as the API's: a typed password an attacker would guess is refused.
    try {
      checkPasswordStrength(password, account)
    } catch (error) {
      if (error instanceof AccountError)
        throw new Error(`--password-stdin: the password ${error.message.slice(error.field.length + 2)}`)
      throw error
    }
    const user = await createUser(store.db, { ...account, password })
    if (role) await grantRole(store.db, user.id, role, nodeId, null)
    console.log(
      `user ${username} created${role ? `, granted ${role} on ${options.node ?? 'the whole organisation'}` : ''}`,
    )
    if (generated) console.log(`password (shown once): ${password}`)
  } finally {
    await store.close()
  }
}

export async function grantUser(username: string, options: UserOptions & { role: string }) {
  const role = parseRole(options.role)
  const store = await openMigratedStore(loadHubConfig(options.config))
  try {
    const user = await store.db
      .selectFrom('users')
      .select('id')
      .where((eb) => eb(eb.fn('lower', ['username']), '=', username.toLowerCase()))
      .executeTakeFirst()
    if (!user) throw new Error(`no user "${username}"`)
    await grantRole(store.db, user.id, role, await nodeIdOf(store.db, options.node), null)
    console.log(`granted ${role} on ${options.node ?? 'the whole organisation'} to ${username}`)
  } finally {
    await store.close()
  }
}
