// Lookup of the poe-sidecar binary: the poe.sidecar.path setting, else the
// binary bundled in the extension's bin folder, else PATH.

import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';

/** Inputs of locateSidecar, taken from the environment by the caller. */
export interface SidecarLookup {
  /** Value of the poe.sidecar.path setting; empty when unset. */
  configured: string;
  extensionPath: string;
  platform: NodeJS.Platform;
  homeDir: string;
  /** PATH of the extension host. */
  pathEnv: string | undefined;
  /** Reports whether file exists and may be executed. Defaults to a check on disk. */
  isExecutable?: (file: string) => boolean;
}

/** SidecarLocation is the binary to run and where it was found. */
export interface SidecarLocation {
  path: string;
  source: 'setting' | 'bundled' | 'path';
}

/** SidecarNotFoundError lists every place that was searched. */
export class SidecarNotFoundError extends Error {
  constructor(
    message: string,
    readonly tried: string[],
  ) {
    super(message);
    this.name = 'SidecarNotFoundError';
  }
}

/** Returns the file name of the binary on platform. */
export function binaryName(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'poe-sidecar.exe' : 'poe-sidecar';
}

/**
 * Finds the sidecar binary. A configured path is used as is and never falls
 * back to another binary, so a mistyped setting is reported instead of hidden.
 * Throws SidecarNotFoundError when no executable file is found.
 */
export function locateSidecar(lookup: SidecarLookup): SidecarLocation {
  const isExecutable = lookup.isExecutable ?? isExecutableFile;
  const pathApi = lookup.platform === 'win32' ? path.win32 : path.posix;
  const configured = lookup.configured.trim();

  if (configured !== '') {
    const expanded = expandHome(configured, lookup.homeDir, pathApi);
    if (!expanded.includes('/') && !expanded.includes(pathApi.sep)) {
      // A bare name, such as "poe-sidecar-dev", is looked up on PATH.
      const found = searchPath(expanded, lookup, pathApi, isExecutable);
      if (found !== undefined) {
        return { path: found, source: 'setting' };
      }
      throw new SidecarNotFoundError(
        `The poe.sidecar.path setting names "${configured}", but no such executable is on PATH. Set it to the binary's full path.`,
        [configured],
      );
    }
    if (!pathApi.isAbsolute(expanded)) {
      throw new SidecarNotFoundError(
        `The poe.sidecar.path setting must be an absolute path or a name on PATH, not "${configured}".`,
        [configured],
      );
    }
    if (!isExecutable(expanded)) {
      throw new SidecarNotFoundError(
        `The poe.sidecar.path setting names "${expanded}", which is not an executable file.`,
        [expanded],
      );
    }
    return { path: expanded, source: 'setting' };
  }

  const name = binaryName(lookup.platform);
  const bundled = pathApi.join(lookup.extensionPath, 'bin', name);
  if (isExecutable(bundled)) {
    return { path: bundled, source: 'bundled' };
  }
  const found = searchPath(name, lookup, pathApi, isExecutable);
  if (found !== undefined) {
    return { path: found, source: 'path' };
  }
  throw new SidecarNotFoundError(
    `No poe-sidecar binary was found: none is bundled with the extension and none is on PATH. Install it (go install github.com/poe-sidecar/poe-sidecar/cmd/poe-sidecar@latest) or set poe.sidecar.path.`,
    [bundled, `${name} on PATH`],
  );
}

function expandHome(file: string, homeDir: string, pathApi: path.PlatformPath): string {
  if (file === '~') {
    return homeDir;
  }
  if (file.startsWith('~/') || file.startsWith('~\\')) {
    return pathApi.join(homeDir, file.slice(2));
  }
  return file;
}

function searchPath(
  name: string,
  lookup: SidecarLookup,
  pathApi: path.PlatformPath,
  isExecutable: (file: string) => boolean,
): string | undefined {
  const windows = lookup.platform === 'win32';
  const names = windows && pathApi.extname(name) === '' ? [name, `${name}.exe`] : [name];
  for (const dir of (lookup.pathEnv ?? '').split(windows ? ';' : ':')) {
    // An empty PATH entry means the working folder, which an editor should not run binaries from.
    if (dir === '') {
      continue;
    }
    for (const candidateName of names) {
      const candidate = pathApi.join(dir, candidateName);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) {
      return false;
    }
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
