import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { AuthState } from '../../src/protocol';
import { formatPoints, statusView, type StatusInput } from '../../src/statusModel';

const signedIn: AuthState = { signedIn: true, method: 'oauth', source: 'file', expiresAt: null, expired: false };
const signedOut: AuthState = { signedIn: false, expiresAt: null, expired: false };

function input(overrides: Partial<StatusInput>): StatusInput {
  return { sidecar: 'running', auth: signedIn, model: 'GPT-5.4', points: 12345, ...overrides };
}

describe('statusView', () => {
  it('shows model and points when signed in', () => {
    const got = statusView(input({}));
    assert.equal(got.text, '$(comment-discussion) GPT-5.4 · 12,345 pts');
    assert.equal(got.command.id, 'poe.statusMenu');
    assert.equal(got.severity, 'normal');
    assert.match(got.tooltip, /signed in with the browser/);
    assert.match(got.tooltip, /Balance: 12,345 points/);
  });

  it('leaves out points not fetched yet', () => {
    assert.equal(statusView(input({ points: undefined })).text, '$(comment-discussion) GPT-5.4');
  });

  it('leaves out points Poe does not report', () => {
    assert.equal(statusView(input({ points: null })).text, '$(comment-discussion) GPT-5.4');
  });

  it('offers sign-in when signed out', () => {
    const got = statusView(input({ auth: signedOut, points: undefined }));
    assert.equal(got.text, '$(account) Poe: Sign In');
    assert.equal(got.command.id, 'poe.signIn');
  });

  it('warns about an expired key', () => {
    const got = statusView(input({ auth: { signedIn: false, expiresAt: '2026-12-01T10:00:00Z', expired: true } }));
    assert.equal(got.text, '$(warning) Poe: key expired');
    assert.equal(got.command.id, 'poe.signIn');
    assert.equal(got.severity, 'warning');
    assert.match(got.tooltip, /expired on 2026-12-01/);
  });

  it('shows a corrupt key file', () => {
    const got = statusView(
      input({ auth: { signedIn: false, expiresAt: null, expired: false, problem: { reason: 'corrupt_credentials', message: 'The key file cannot be read.' } } }),
    );
    assert.equal(got.severity, 'warning');
    assert.match(got.tooltip, /The key file cannot be read\./);
  });

  it('names the environment variable as the source', () => {
    assert.match(statusView(input({ auth: { ...signedIn, source: 'env' } })).tooltip, /POE_API_KEY/);
  });

  it('names the key expiry', () => {
    assert.match(statusView(input({ auth: { ...signedIn, expiresAt: '2027-03-04T10:00:00Z' } })).tooltip, /expires on 2027-03-04/);
  });

  it('waits for the first auth state', () => {
    assert.equal(statusView(input({ auth: undefined })).text, '$(loading~spin) Poe');
  });

  it('offers a restart once stopped', () => {
    const got = statusView(input({ sidecar: 'stopped' }));
    assert.equal(got.command.id, 'poe.restartSidecar');
    assert.equal(got.severity, 'error');
  });

  it('opens the path setting when the binary is missing', () => {
    assert.deepEqual(statusView(input({ sidecar: 'missing' })).command, { id: 'workbench.action.openSettings', args: ['poe.sidecar.path'] });
  });
});

describe('formatPoints', () => {
  it('groups thousands', () => {
    assert.equal(formatPoints(1234567), '1,234,567 pts');
  });

  it('drops fractions', () => {
    assert.equal(formatPoints(999.9), '999 pts');
  });
});
