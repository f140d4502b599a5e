package fakepoe

import (
	"slices"
	"strings"
	"testing"
)

func TestReplyDeltas(t *testing.T) {
	tests := []struct {
		name     string
		messages []Message
		want     []string
	}{
		{
			"echo",
			[]Message{{"system", "Be brief."}, {"user", "hi there"}},
			[]string{"Hello", " from", " the", " fake", " Poe", " (GPT-5.4).", " You", " said:", " hi", " there"},
		},
		{
			"last user message",
			[]Message{{"user", "first"}, {"assistant", "ok"}, {"user", "second"}, {"assistant", "pending"}},
			[]string{"Hello", " from", " the", " fake", " Poe", " (GPT-5.4).", " You", " said:", " second"},
		},
		{
			"no user message",
			[]Message{{"system", "Be brief."}},
			[]string{"Hello", " from", " the", " fake", " Poe", " (GPT-5.4).", " You", " said", " nothing."},
		},
		{
			"long",
			[]Message{{"user", " /long 4 "}},
			[]string{"word0", " word1", " word2", " word3"},
		},
		{
			"long zero",
			[]Message{{"user", "/long 0"}},
			[]string{"Hello", " from", " the", " fake", " Poe", " (GPT-5.4).", " You", " said:", " /long", " 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ReplyDeltas("GPT-5.4", tt.messages)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ReplyDeltas = %q, want %q", got, tt.want)
			}
			if text := ReplyFor("GPT-5.4", tt.messages); text != strings.Join(tt.want, "") {
				t.Errorf("ReplyFor = %q, want %q", text, strings.Join(tt.want, ""))
			}
		})
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"one", []string{"one"}},
		{"a  b", []string{"a", "  b"}},
		{" lead", []string{" lead"}},
		{"trail ", []string{"trail", " "}},
		{"héllo wörld\nnext line", []string{"héllo", " wörld\nnext", " line"}},
	}
	for _, tt := range tests {
		got := splitWords(tt.text)
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, want %q", tt.text, got, tt.want)
		}
		if joined := strings.Join(got, ""); joined != tt.text {
			t.Errorf("splitWords(%q) joins to %q", tt.text, joined)
		}
	}
}
