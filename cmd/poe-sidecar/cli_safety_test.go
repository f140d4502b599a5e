package main

import (
	"strings"
	"testing"

	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

func TestStripTerminalControls(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text\nwith\ttabs", "plain text\nwith\ttabs"},
		{"x\x1b]0;PWNED\x07\x1b[31mred\x1b[0m", "x]0;PWNED[31mred[0m"},
		{"over\rwrite", "overwrite"},
		{"c1 \u009b31m csi", "c1 31m csi"},
		{"del\x7f", "del"},
		{"héllo ✓", "héllo ✓"},
	}
	for _, tc := range cases {
		if got := stripTerminalControls(tc.in); got != tc.want {
			t.Errorf("stripTerminalControls(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStatusRejectedKey(t *testing.T) {
	env := newCLIEnv(t, fakepoe.Options{}, "POE_API_KEY=sk-poe-"+strings.Repeat("Rej3ct", 6))
	res := env.run("", "status")
	if res.code != exitAuthRequired {
		t.Errorf("exit status = %d, want %d", res.code, exitAuthRequired)
	}
	if strings.Contains(res.stdout, "yes") {
		t.Errorf("stdout says signed in for a key Poe rejects:\n%s", res.stdout)
	}
	if !strings.Contains(res.stdout, "rejected") {
		t.Errorf("stdout does not say the key was rejected:\n%s", res.stdout)
	}
}
