import { Command } from 'commander'
import { ConfigError } from '../../gateway/contract/index.ts'
import { parseBackfillDays, runDemo } from './demo-command.ts'
import { runGateway } from './gateway-command.ts'
import { runHub } from './hub-command.ts'
import { runLedgerCheck } from './ledger-command.ts'
import { runMigrate } from './migrate-command.ts'
import { addUser, grantUser } from './user-command.ts'

const program = new Command('estatehub')
  .description("EstateHub: property operations on top of the building's own devices")
  .showHelpAfterError()

const withConfig = (command: Command) =>
  command.option('-c, --config <file>', 'YAML configuration file (default: built-in defaults)')

withConfig(program.command('hub').description('run the hub: store and API')).action((o) => runHub(o.config))
withConfig(
  program
    .command('gateway')
    .argument('[action]', '"check": validate the file, read every device once and print a table')
    .description('run an on-site gateway, or check its devices'),
).action((action, o) => runGateway(action, o.config))
withConfig(program.command('demo').description('run the hub with a seeded demo estate (what npm start runs)'))
  .option(
    '--backfill <days>',
    'generate this many days of meter history, e.g. 40d (default on a first run: enough to cover last month)',
    parseBackfillDays,
  )
  .option('--no-backfill', 'generate no meter history')
  .action((o) => runDemo({ config: o.config, backfill: o.backfill === 0 ? false : o.backfill }))
withConfig(program.command('migrate').description('apply pending database migrations and exit')).action((o) =>
  runMigrate(o.config),
)

const ledger = program.command('ledger').description('the billing ledger')
withConfig(
  ledger
    .command('check')
    .description('prove per estate that debits equal credits and every balance matches its entries'),
)
  .option('-e, --estate <code>', 'only this estate')
  .action((o) => runLedgerCheck(o.config, o.estate))

const user = program.command('user').description('manage users from the command line')
withConfig(user.command('add <username>').description('create a user, optionally granting a role'))
  .option('-r, --role <role>', 'role to grant: admin, finance, service, engineering, leasing, viewer')
  .option(
    '-n, --node <code>',
    'organisation node code the role is granted on (default: the whole organisation)',
  )
  .option('--display-name <name>', 'name shown in the console')
  .option('--password-stdin', 'read the password from standard input instead of generating one')
  .action((username, o) => addUser(username, o))
withConfig(user.command('grant <username>').description('grant a role to an existing user'))
  .requiredOption('-r, --role <role>', 'role to grant')
  .option('-n, --node <code>', 'organisation node code (default: the whole organisation)')
  .action((username, o) => grantUser(username, o))

try {
  await program.parseAsync(process.argv)
} catch (error) {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(problem)
    process.exit(2)
  }
  console.error(`estatehub: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
