package rpc

import "strings"

// Block sizes of a textBuffer. The first block fits a short reply, and each
// new block doubles the last, up to maxTextBlock.
const (
	firstTextBlock = 512
	maxTextBlock   = 1 << 20
)

// textBuffer collects the text of a chat stream for the chat/send result. It
// keeps the text in blocks that are never copied while the stream runs. A
// strings.Builder copies its whole content each time it grows and briefly
// holds both copies, which for 100 MB of text measured several times the
// text in peak RSS. A textBuffer holds the text plus at most one block of
// free space, and String copies it once.
type textBuffer struct {
	blocks [][]byte
	size   int
}

// WriteString appends s.
func (t *textBuffer) WriteString(s string) {
	t.size += len(s)
	for len(s) > 0 {
		last := len(t.blocks) - 1
		if last < 0 || len(t.blocks[last]) == cap(t.blocks[last]) {
			size := firstTextBlock
			if last >= 0 {
				size = min(2*cap(t.blocks[last]), maxTextBlock)
			}
			t.blocks = append(t.blocks, make([]byte, 0, size))
			last++
		}

		block := t.blocks[last]
		n := min(len(s), cap(block)-len(block))
		t.blocks[last] = append(block, s[:n]...)
		s = s[n:]
	}
}

// Len returns the number of bytes written.
func (t *textBuffer) Len() int { return t.size }

// String returns the text written so far as one string.
func (t *textBuffer) String() string {
	var b strings.Builder
	b.Grow(t.size)
	for _, block := range t.blocks {
		b.Write(block)
	}
	return b.String()
}
