package rpc

import (
	"strings"
	"testing"
)

func TestTextBuffer(t *testing.T) {
	cases := []struct {
		name   string
		pieces []string
	}{
		{"empty", nil},
		{"empty pieces", []string{"", "", ""}},
		{"short", []string{"Hel", "lo", " there"}},
		{"fills the first block exactly", []string{strings.Repeat("a", firstTextBlock), "b"}},
		{"piece larger than a block", []string{"x", strings.Repeat("é", 3*maxTextBlock), "y"}},
		{"many small pieces", strings.Split(strings.Repeat("token ", 100_000), " ")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var text textBuffer
			for _, p := range tc.pieces {
				text.WriteString(p)
			}

			want := strings.Join(tc.pieces, "")
			if got := text.String(); got != want {
				t.Fatalf("String() has %d bytes, want the %d bytes written", len(got), len(want))
			}
			if got := text.Len(); got != len(want) {
				t.Fatalf("Len() = %d, want %d", got, len(want))
			}
		})
	}
}

func TestTextBufferSpare(t *testing.T) {
	var text textBuffer
	for range 50_000 {
		text.WriteString(strings.Repeat("z", 997))
	}

	allocated := 0
	for _, block := range text.blocks {
		if cap(block) > maxTextBlock {
			t.Fatalf("a block has capacity %d, want at most %d", cap(block), maxTextBlock)
		}
		allocated += cap(block)
	}
	if spare := allocated - text.Len(); spare > maxTextBlock {
		t.Fatalf("blocks hold %d bytes for %d bytes of text, want at most one block (%d bytes) spare", allocated, text.Len(), maxTextBlock)
	}
}
