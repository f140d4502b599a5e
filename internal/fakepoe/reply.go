package fakepoe

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxLongWords is the largest N that the "/long N" prompt accepts. A larger N gets the
// ordinary echo reply.
const MaxLongWords = 1_000_000

// Message is one chat message reduced to its role and text content, the input of ReplyFor.
type Message struct {
	Role    string
	Content string
}

// ReplyFor returns the full text that the server streams for model and messages when
// no max_tokens limit and no stream quirk cuts it short.
//
// When the last user message, with surrounding white space trimmed, is "/long N" for
// an N from 1 to MaxLongWords, the reply is "word0 word1 … word<N-1>". Otherwise it is
// "Hello from the fake Poe (<model>). You said: <last user message>", or
// "… You said nothing." when there is no user message or it is empty.
func ReplyFor(model string, messages []Message) string {
	return strings.Join(ReplyDeltas(model, messages), "")
}

// ReplyDeltas returns the reply of ReplyFor split into the deltas the server streams,
// one per word. Every delta but the first starts with the spaces before its word, so
// the deltas concatenate to the reply. A max_tokens limit of n keeps the first n deltas.
func ReplyDeltas(model string, messages []Message) []string {
	last := lastUserMessage(messages)
	if n, ok := parseLong(last); ok {
		deltas := make([]string, n)
		for i := range deltas {
			if i == 0 {
				deltas[i] = "word0"
			} else {
				deltas[i] = " word" + strconv.Itoa(i)
			}
		}
		return deltas
	}

	text := fmt.Sprintf("Hello from the fake Poe (%s). You said nothing.", model)
	if last != "" {
		text = fmt.Sprintf("Hello from the fake Poe (%s). You said: %s", model, last)
	}
	return splitWords(text)
}

func lastUserMessage(messages []Message) string {
	for i := len(messages) - 1; i >= 0; i-- {
		if messages[i].Role == "user" {
			return messages[i].Content
		}
	}
	return ""
}

// parseLong returns N when message is "/long N" with 1 <= N <= MaxLongWords.
func parseLong(message string) (int, bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(message), "/long ")
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil || n < 1 || n > MaxLongWords {
		return 0, false
	}
	return n, true
}

// splitWords cuts text before each run of spaces that follows a non-space byte.
// It cuts only at ASCII spaces, so multi-byte UTF-8 characters stay whole.
func splitWords(text string) []string {
	var pieces []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' && text[i-1] != ' ' {
			pieces = append(pieces, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		pieces = append(pieces, text[start:])
	}
	return pieces
}

// countTokens is the fake's token count: the number of white-space separated words.
func countTokens(messages []Message) int {
	total := 0
	for _, m := range messages {
		total += len(strings.Fields(m.Content))
	}
	return total
}
