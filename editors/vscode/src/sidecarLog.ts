// Parsing of the sidecar's log lines. The extension starts the sidecar with
// --log-stderr, and the sidecar then writes Go log/slog's text format to stderr:
//   time=2026-12-04T21:44:20.329Z level=INFO msg=starting version=dev pid=3328

/** Level of a log line, named as VS Code's LogOutputChannel methods. */
export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** SidecarLogLine is one stderr line split into its level and the rest of its text. */
export interface SidecarLogLine {
  level: LogLevelName;
  text: string;
}

const TIME_FIELD = /^time=\S+\s+/;
const LEVEL_FIELD = /^level=([A-Za-z]+)(?:[+-]\d+)?\s*/;

/**
 * Splits line into its level and its text without the time, since the output
 * channel adds its own time. A line in another format, such as a Go panic's
 * stack trace, is kept whole at level "error".
 */
export function parseSidecarLogLine(line: string): SidecarLogLine {
  const withoutTime = line.replace(TIME_FIELD, '');
  const match = LEVEL_FIELD.exec(withoutTime);
  if (match === null) {
    return { level: 'error', text: line };
  }

  const text = withoutTime.slice(match[0].length);
  switch (match[1]?.toUpperCase()) {
    case 'DEBUG':
      return { level: 'debug', text };
    case 'INFO':
      return { level: 'info', text };
    case 'WARN':
      return { level: 'warn', text };
    default:
      return { level: 'error', text };
  }
}
