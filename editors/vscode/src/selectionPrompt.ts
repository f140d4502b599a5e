// The chat message that "Send Selection to Poe" builds from the editor's selection.

/**
 * Returns a chat message with question about code from the editor. The
 * code goes in a fence longer than any run of backticks inside it, so the
 * code cannot end the fence early.
 */
export function selectionPrompt(question: string, code: string, languageId: string, fileName: string): string {
  const longestRun = Math.max(0, ...(code.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  const body = code.endsWith('\n') ? code : `${code}\n`;
  return `${question.trim()}\n\nFrom \`${fileName}\`:\n\n${fence}${languageId}\n${body}${fence}`;
}
