// Bundles the extension and the chat webview script with esbuild.
//   node scripts/build.mjs              development build with source maps
//   node scripts/build.mjs --production minified, without source maps

import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const production = process.argv.includes('--production');

await rm(path.join(root, 'dist'), { recursive: true, force: true });

const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  logLevel: 'warning',
  absWorkingDir: root,
};

await Promise.all([
  build({
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    // VS Code 1.91 runs extensions on Node.js 20.
    target: 'node20',
    external: ['vscode'],
  }),
  build({
    ...common,
    entryPoints: ['src/webview/ui/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  }),
]);

console.log(`built dist/extension.js and dist/webview.js${production ? ' (production)' : ''}`);
