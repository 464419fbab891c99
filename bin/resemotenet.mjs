#!/usr/bin/env node
// The `resemotenet` command (package.json "bin"): runs src/resemotenet/cli.ts through tsx's
// loader, so the TypeScript sources run as they are. See `resemotenet --help`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/resemotenet/cli.ts');
process.exit(await main(process.argv.slice(2)));
