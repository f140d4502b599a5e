// Builds the .vsix for one platform: the production bundle, the poe-sidecar
// binary for that platform in bin/, and the package made by @vscode/vsce.
//
//   npm run package                          for this machine's platform
//   npm run package -- --target darwin-arm64 for another platform (needs Go)
//
// The binary is built from this repository with Go, with CGO off so that any
// target builds on any host. When POE_SIDECAR_BIN names a binary, that one is
// bundled as it is, and it must be built for the target.

import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const repository = path.resolve(root, '..', '..');

/** vsce targets and the Go GOOS/GOARCH of each. */
const TARGETS = {
  'linux-x64': ['linux', 'amd64'],
  'linux-arm64': ['linux', 'arm64'],
  'linux-armhf': ['linux', 'arm'],
  'alpine-x64': ['linux', 'amd64'],
  'alpine-arm64': ['linux', 'arm64'],
  'darwin-x64': ['darwin', 'amd64'],
  'darwin-arm64': ['darwin', 'arm64'],
  'win32-x64': ['windows', 'amd64'],
  'win32-arm64': ['windows', 'arm64'],
};

function hostTarget() {
  const arch = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
  const target = `${process.platform}-${arch}`;
  if (!(target in TARGETS)) {
    throw new Error(`no vsce target for this machine (${process.platform} ${process.arch}); pass --target, one of: ${Object.keys(TARGETS).join(', ')}`);
  }
  return target;
}

function parseTarget(argv) {
  const index = argv.indexOf('--target');
  if (index === -1) {
    return hostTarget();
  }
  const target = argv[index + 1];
  if (target === undefined || !(target in TARGETS)) {
    throw new Error(`--target must be one of ${Object.keys(TARGETS).join(', ')}, not ${JSON.stringify(target)}`);
  }
  return target;
}

function run(command, args, options = {}) {
  console.log(`$ ${command} ${args.join(' ')}`);
  execFileSync(command, args, { stdio: 'inherit', cwd: root, ...options });
}

const target = parseTarget(process.argv.slice(2));
const [goos, goarch] = TARGETS[target];
const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
const binDir = path.join(root, 'bin');
const binary = path.join(binDir, goos === 'windows' ? 'poe-sidecar.exe' : 'poe-sidecar');

await rm(binDir, { recursive: true, force: true });
await mkdir(binDir);
const prebuilt = process.env.POE_SIDECAR_BIN;
if (prebuilt) {
  console.log(`bundling ${prebuilt} as ${path.relative(root, binary)}`);
  await copyFile(prebuilt, binary);
} else {
  run('go', ['build', '-trimpath', '-ldflags', `-s -w -X main.version=v${manifest.version}`, '-o', binary, './cmd/poe-sidecar'], {
    cwd: repository,
    env: { ...process.env, GOOS: goos, GOARCH: goarch, CGO_ENABLED: '0' },
  });
}
await chmod(binary, 0o755);

run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit']);
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.webview.json', '--noEmit']);
run(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--production']);

const out = `${manifest.name}-${target}-${manifest.version}.vsix`;
run(process.execPath, [
  path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
  'package',
  '--target', target,
  '--no-dependencies',
  '--skip-license',
  '--out', out,
]);
console.log(`packaged ${path.join(root, out)}`);
