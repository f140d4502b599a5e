import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseSidecarLogLine } from '../../src/sidecarLog';

describe('parseSidecarLogLine', () => {
  const cases = [
    {
      name: 'info line',
      line: 'time=2026-12-04T21:44:20.329Z level=INFO msg=starting version=dev pid=3328',
      want: { level: 'info', text: 'msg=starting version=dev pid=3328' },
    },
    {
      name: 'quoted message',
      line: 'time=2026-12-04T21:44:20.330Z level=INFO msg="stdin closed; stopping"',
      want: { level: 'info', text: 'msg="stdin closed; stopping"' },
    },
    { name: 'debug', line: 'time=t level=DEBUG msg=x', want: { level: 'debug', text: 'msg=x' } },
    { name: 'warn', line: 'time=t level=WARN msg=x', want: { level: 'warn', text: 'msg=x' } },
    { name: 'error', line: 'time=t level=ERROR msg=x', want: { level: 'error', text: 'msg=x' } },
    { name: 'level with offset', line: 'time=t level=INFO+2 msg=x', want: { level: 'info', text: 'msg=x' } },
    { name: 'no time', line: 'level=WARN msg=x', want: { level: 'warn', text: 'msg=x' } },
    { name: 'unknown level', line: 'time=t level=FATAL msg=x', want: { level: 'error', text: 'msg=x' } },
    {
      name: 'panic line',
      line: 'panic: runtime error: invalid memory address',
      want: { level: 'error', text: 'panic: runtime error: invalid memory address' },
    },
  ];
  for (const { name, line, want } of cases) {
    it(name, () => {
      assert.deepEqual(parseSidecarLogLine(line), want);
    });
  }
});
