package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/poe-sidecar/poe-sidecar/auth"
)

var statusCommand = &command{
	name:     "status",
	synopsis: "status",
	summary:  "show how you are signed in and the point balance",
	help: `Usage: poe-sidecar status

Shows whether you are signed in to Poe, how (browser or API key), where the key comes
from (the credential file or POE_API_KEY), when it expires, the path of the credential
file and, when signed in, the account's point balance as Poe reports it.

status exits with 0 when signed in and with 3 when not, when the key expired, when
the credential file is unusable, or when Poe rejects the key, so scripts can run
"poe-sidecar status >/dev/null || poe-sidecar login". A balance that cannot be read
for another reason is shown as a warning and does not change the exit status.

Flags:
  -v, --verbose   write debug logs to stderr
`,
	run: runStatus,
}

var logoutCommand = &command{
	name:     "logout",
	synopsis: "logout",
	summary:  "remove the stored key, signing out every editor",
	help: `Usage: poe-sidecar logout

Removes the key from the credential file, which signs out every editor that runs
poe-sidecar. An unusable credential file is moved aside instead, next to the original.
Poe has no way to revoke a key from here: delete it at https://poe.com/api/keys.
While POE_API_KEY is set, poe-sidecar goes on using that key.

Flags:
  -v, --verbose   write debug logs to stderr
`,
	run: runLogout,
}

func runStatus(ctx context.Context, c *cli, args []string) error {
	positional, err := c.parseFlags(flag.NewFlagSet("status", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("status takes no arguments, not %q", positional[0])
	}

	p, err := c.setup()
	if err != nil {
		return err
	}
	svc, err := c.authService(p, 0)
	if err != nil {
		return err
	}
	defer svc.Close()

	st := svc.Status()
	s := c.outStyle
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name+":", value) }

	// The balance is asked for first, because Poe's answer decides whether the
	// key works; the rows are printed after the sign-in lines.
	var (
		balanceErr  error
		balanceRows [][2]string
	)
	if st.SignedIn {
		balanceErr = c.balanceRows(ctx, svc, p, func(name, value string) {
			balanceRows = append(balanceRows, [2]string{name, value})
		})
	}
	rejected := false
	if balanceErr != nil {
		_, code := c.describe(balanceErr)
		rejected = code == exitAuthRequired
	}

	switch {
	case st.SignedIn && rejected:
		row("Signed in", s.red("no, Poe rejected the key"))
	case st.SignedIn:
		row("Signed in", s.green("yes"))
	case st.Expired:
		row("Signed in", s.red("no, the key expired"))
	default:
		row("Signed in", s.red("no"))
	}
	if st.Method != "" {
		row("Method", methodName(st.Method))
	}
	switch st.Source {
	case auth.SourceEnv:
		row("Key source", "the POE_API_KEY environment variable (it wins over the credential file)")
	case auth.SourceFile:
		row("Key source", "the credential file")
	}
	if st.Source == auth.SourceFile {
		if st.ExpiresAt != nil {
			row("Expires", formatWhen(*st.ExpiresAt, c.now()))
		} else {
			row("Expires", "never")
		}
	}
	row("Credential file", p.credPath)
	if st.Problem != nil {
		row("Problem", s.red(sentence(st.Problem.Message)))
	}

	for _, r := range balanceRows {
		row(r[0], r[1])
	}
	_ = tw.Flush()

	switch {
	case !st.SignedIn:
		fmt.Fprintln(c.stdout)
		fmt.Fprintln(c.stdout, loginHint)
		return &exitStatusError{code: exitAuthRequired}
	case balanceErr != nil:
		message, code := c.describe(balanceErr)
		if code == exitAuthRequired {
			fmt.Fprintf(c.stderr, "%s %s\n", c.errStyle.red("Error:"), message)
			return &exitStatusError{code: code}
		}
		fmt.Fprintf(c.stderr, "%s The balance could not be read. %s\n", c.errStyle.yellow("Note:"), message)
	}
	return nil
}

// balanceRows adds the point balance and the account's e-mail address. It returns the
// error when Poe does not report them.
func (c *cli) balanceRows(ctx context.Context, svc *auth.Service, p *poeSetup, row func(name, value string)) error {
	key, err := svc.APIKey()
	if err != nil {
		return err
	}
	balance, err := p.poe.Balance(ctx, key)
	if err != nil {
		row("Points", "unknown")
		return err
	}
	switch {
	case balance.Points != nil:
		row("Points", groupDigits(*balance.Points))
	default:
		row("Points", "not reported by Poe")
	}
	if balance.Email != "" {
		row("Account", balance.Email)
	}
	return nil
}

func methodName(method string) string {
	switch method {
	case auth.MethodOAuth:
		return "browser sign-in (OAuth)"
	case auth.MethodAPIKey:
		return "API key"
	default:
		return method
	}
}

func runLogout(_ context.Context, c *cli, args []string) error {
	positional, err := c.parseFlags(flag.NewFlagSet("logout", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("logout takes no arguments, not %q", positional[0])
	}

	p, err := c.setup()
	if err != nil {
		return err
	}
	svc, err := c.authService(p, 0)
	if err != nil {
		return err
	}
	defer svc.Close()

	stored, loadErr := auth.NewStore(p.credPath).Load()
	after, err := svc.SignOut()
	if err != nil {
		return err
	}

	var corrupt *auth.CorruptError
	switch {
	case errors.As(loadErr, &corrupt):
		fmt.Fprintf(c.stdout, "Signed out: the unusable credential file %s was moved aside, next to where it was.\n", p.credPath)
	case stored != nil:
		fmt.Fprintf(c.stdout, "Signed out: removed the key from %s. Every editor that runs poe-sidecar is signed out too.\n", p.credPath)
		fmt.Fprintln(c.stdout, "Poe keeps the key valid until you delete it at https://poe.com/api/keys.")
	default:
		fmt.Fprintf(c.stdout, "No key was stored in %s, so there was nothing to remove.\n", p.credPath)
	}
	if after.SignedIn && after.Source == auth.SourceEnv {
		fmt.Fprintf(c.stderr, "%s POE_API_KEY is still set, so poe-sidecar goes on using that key. Unset it to sign out completely.\n", c.errStyle.yellow("Note:"))
	}
	return nil
}
