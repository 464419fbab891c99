// npm "prepare" (runs on `npm ci` / `npm install` in a checkout): builds dist/ with `npm run build`
// when TypeScript is installed; an install without dev dependencies skips the build with a note.
import { execSync } from 'node:child_process';
import { createRequire } from 'node:module';

try {
  createRequire(import.meta.url).resolve('typescript');
} catch {
  console.warn('prepare: typescript is not installed (dev dependencies omitted), so dist/ was not built; run `npm run build` after installing them');
  process.exit(0);
}
execSync('npm run build', { stdio: 'inherit' });
