package rpc

import (
	"strings"
	"testing"
)

func TestRedactJSON(t *testing.T) {
	raw := []byte(`{"attemptId":"a1","apiKey":"sk-poe-secret","nested":[{"code":"c0de","callbackUrl":"http://127.0.0.1/callback?code=c0de&state=st4te"}],"url":"https://poe.com/oauth/authorize?state=st4te","text":"hello","APIKEY":"sk-poe-upper","CallbackURL":"http://x/?code=c0de"}`)
	got := redactJSON(raw)
	for _, secret := range []string{"sk-poe-secret", "c0de", "st4te", "sk-poe-upper"} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted trace %s still contains %q", got, secret)
		}
	}
	for _, kept := range []string{`"attemptId":"a1"`, `"text":"hello"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("redacted trace %s lost %s", got, kept)
		}
	}
}
