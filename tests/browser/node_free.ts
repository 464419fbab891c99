/**
 * Bundling for a browser with Vite while watching for Node: a plugin that records every import of
 * a Node built-in (`node:fs`, `fs`, ...) and every bare package import with its importer, and a
 * logger that records Vite's warnings (such as "Module "fs" has been externalized for browser
 * compatibility"). Used by tests/browser_entry.test.ts and tests/demo.test.ts.
 */
import { builtinModules } from 'node:module';
import type { Logger, Plugin } from 'vite';

export interface NodeImportLog {
  /** "specifier <- importer" for each Node built-in imported. */
  builtins: string[];
  /** "specifier <- importer" for each bare (package) import. */
  packages: string[];
  /** Vite's and Rolldown's warnings and errors. */
  warnings: string[];
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The plugin, the logger and the log they fill. Pass both to Vite's `build()`. */
export function nodeImportWatch(root: string): { plugin: Plugin; logger: Logger; log: NodeImportLog } {
  const log: NodeImportLog = { builtins: [], packages: [], warnings: [] };
  const rel = (id: string | undefined) => (id ? id.replace(root, '.') : '(entry)');
  const plugin: Plugin = {
    name: 'node-import-watch',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source.startsWith('\0') || source.startsWith('/@') || source.startsWith('virtual:')) return null;
      if (BUILTINS.has(source) || source.startsWith('node:')) log.builtins.push(`${source} <- ${rel(importer)}`);
      else if (!/^(\.{1,2}\/|\/|[A-Za-z]:[\\/])/.test(source) && importer && !importer.endsWith('.html')) log.packages.push(`${source} <- ${rel(importer)}`);
      return null;
    },
  };
  const record = (msg: string) => log.warnings.push(msg.replace(/\x1b\[[0-9;]*m/g, ''));
  const logger: Logger = {
    hasWarned: false,
    info: () => undefined,
    warn: (msg) => record(msg),
    warnOnce: (msg) => record(msg),
    error: (msg) => record(msg),
    clearScreen: () => undefined,
    hasErrorLogged: () => false,
  };
  return { plugin, logger, log };
}
