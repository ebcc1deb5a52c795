import { loadHubConfig } from '../config/hub-config.ts'
import { seedDemo } from '../demo/seed-demo.ts'
import { startHub } from './hub-command.ts'

/** `npm start`: the hub on embedded defaults with a seeded demo estate and a printed login. */
export async function runDemo(configFile: string | undefined) {
  const hub = await startHub(loadHubConfig(configFile))
  const login = await seedDemo(hub.store.db)
  console.log('')
  console.log('  Demo estate 华景花园 is ready.')
  console.log(`  Log in:   ${login.username} / ${login.password}`)
  console.log(`  API docs: ${hub.url}/docs`)
  console.log(
    `  Try:      curl -s -X POST ${hub.url}/api/v1/auth/login -H 'content-type: application/json' \\`,
  )
  console.log(`              -d '{"username":"${login.username}","password":"${login.password}"}'`)
  console.log('  Stop with Ctrl-C.')
}
