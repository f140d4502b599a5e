package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

var loginCommand = &command{
	name:     "login",
	synopsis: "login [--no-browser]",
	summary:  "sign in with the browser (--api-key: with a key)",
	help: `Usage: poe-sidecar login [--no-browser] [--timeout DURATION]
       poe-sidecar login --api-key

Signs in to Poe and stores the key in the credential file that every editor running
poe-sidecar reads, so signing in once from a terminal signs in every editor.

By default login prints an address, opens it in the browser and waits until Poe sends
the browser back to a server that login runs on 127.0.0.1. When the browser cannot
reach this machine (over SSH, in WSL, in a container), login does not open a browser:
open the address on any machine, approve, and paste the address that the browser ends
on (it starts with http://127.0.0.1:) back into the terminal. login chooses this by
itself over SSH, in WSL and without a graphical display, and says so.

Flags:
  --no-browser        do not open a browser; paste the address the browser ends on
  --api-key           sign in with an API key from https://poe.com/api_key instead,
                      read from a hidden prompt, or from stdin when stdin is not a
                      terminal (for example: poe-sidecar login --api-key < key.txt).
                      The key is never taken from the command line, where other users
                      of the machine could see it.
  --timeout DURATION  how long to wait for the browser, such as 10m (default 5m)
  -v, --verbose       write debug logs to stderr

Environment:
  BROWSER             the command that opens the address, instead of the system's
  POE_OAUTH_AUTHORIZE_URL, POE_OAUTH_TOKEN_URL, POE_OAUTH_CLIENT_ID
                      point the browser sign-in elsewhere
  POE_API_KEY         when set, wins over the stored key; login warns about it
`,
	run: runLogin,
}

func runLogin(ctx context.Context, c *cli, args []string) error {
	flags := flag.NewFlagSet("login", flag.ContinueOnError)
	noBrowser := flags.Bool("no-browser", false, "")
	apiKey := flags.Bool("api-key", false, "")
	timeout := flags.Duration("timeout", auth.DefaultAttemptTimeout, "")
	positional, err := c.parseFlags(flags, args)
	if err != nil {
		return err
	}
	switch {
	case len(positional) > 0 && *apiKey:
		return usagef("login --api-key takes no arguments: it reads the key from a hidden prompt or from stdin, because other users can see command-line arguments")
	case len(positional) > 0:
		return usagef("login takes no arguments, not %q", positional[0])
	case *apiKey && *noBrowser:
		return usagef("--api-key and --no-browser exclude each other: --no-browser is for the browser sign-in")
	case *timeout <= 0:
		return usagef("invalid --timeout %s: use a positive duration such as 5m", *timeout)
	}

	p, err := c.setup()
	if err != nil {
		return err
	}
	svc, err := c.authService(p, *timeout)
	if err != nil {
		return err
	}
	defer svc.Close()

	if p.env.APIKey != "" {
		fmt.Fprintf(c.stderr, "%s POE_API_KEY is set, and it wins over the key that login stores until you unset it.\n", c.errStyle.yellow("Note:"))
	}

	var result auth.Result
	if *apiKey {
		result, err = c.loginAPIKey(ctx, svc)
	} else {
		result, err = c.loginBrowser(ctx, svc, c.chooseBrowser(*noBrowser))
	}
	if err != nil {
		return err
	}
	c.reportSignIn(ctx, p, result)
	return nil
}

// loginBrowser runs the OAuth sign-in. In both modes the callback server on 127.0.0.1
// stays open, so the sign-in also completes when the browser does reach this machine.
func (c *cli) loginBrowser(ctx context.Context, svc *auth.Service, choice browserChoice) (auth.Result, error) {
	attempt, err := svc.StartOAuth(ctx)
	if err != nil {
		return auth.Result{}, err
	}
	s := c.errStyle

	if !choice.open {
		fmt.Fprintf(c.stderr, "%s\n\n", choice.reason)
		fmt.Fprintf(c.stderr, "1. Open this address in a browser on any machine and approve the sign-in:\n\n   %s\n\n", s.bold(attempt.URL))
		fmt.Fprintf(c.stderr, "2. Poe then sends the browser to %s. That page may fail to load there, which is expected.\n", attempt.RedirectURI)
		fmt.Fprintf(c.stderr, "3. Copy the whole address from the browser's address bar and paste it here.\n\n")
		fmt.Fprintf(c.stderr, "The sign-in expires at %s (%s).\n", attempt.ExpiresAt.Local().Format("15:04:05"), formatRelative(attempt.ExpiresAt, c.now()))
		return c.pasteCallback(ctx, svc, attempt)
	}

	fmt.Fprintf(c.stderr, "Open this address in a browser to sign in to Poe:\n\n  %s\n\n", s.bold(attempt.URL))
	opener := c.openBrowser
	if opener == nil {
		opener = c.openWithSystemBrowser
	}
	if err := opener(attempt.URL); err != nil {
		fmt.Fprintf(c.stderr, "%s Could not open a browser (%v). Open the address above yourself.\n", s.yellow("Note:"), err)
	} else {
		fmt.Fprintln(c.stderr, "Opened the address in your browser.")
	}
	fmt.Fprintln(c.stderr, s.dim("If the browser runs on another machine, press Ctrl-C and run 'poe-sidecar login --no-browser'."))

	if !c.animate {
		fmt.Fprintf(c.stderr, "Waiting up to %s for the browser to return to %s ...\n",
			formatCountdown(attempt.ExpiresAt.Sub(c.now())), attempt.RedirectURI)
	}
	stop := c.startSpinner(func() string {
		return fmt.Sprintf("Waiting for you to approve in the browser, %s left (Ctrl-C to cancel)",
			formatCountdown(attempt.ExpiresAt.Sub(c.now())))
	})
	result, err := svc.Complete(ctx, auth.CompleteParams{AttemptID: attempt.ID})
	stop()
	var signInErr *auth.SignInError
	if errors.As(err, &signInErr) && signInErr.Reason == auth.ReasonTimeout {
		err = &hintError{err: err, hint: "If the browser runs on another machine, run 'poe-sidecar login --no-browser' and paste the address it ends on."}
	}
	return result, err
}

// reportSignIn prints how the user is signed in, when the key expires, and the
// account's e-mail address and points when Poe reports them.
func (c *cli) reportSignIn(ctx context.Context, p *poeSetup, result auth.Result) {
	s := c.outStyle
	how := "with the browser"
	if result.Method == auth.MethodAPIKey {
		how = "with an API key"
	}
	fmt.Fprintf(c.stdout, "%s Signed in to Poe %s.\n", s.green("✓"), how)

	if result.ExpiresAt != nil {
		fmt.Fprintf(c.stdout, "  The key expires on %s. Run 'poe-sidecar login' again then.\n", formatWhen(*result.ExpiresAt, c.now()))
	} else {
		fmt.Fprintln(c.stdout, "  The key never expires. Delete it at https://poe.com/api/keys when you no longer need it.")
	}

	if balance, err := c.storedKeyBalance(ctx, p); err != nil {
		fmt.Fprintf(c.stderr, "%s Signed in, but the account details could not be read: %v\n", c.errStyle.yellow("Note:"), err)
	} else {
		if balance.Email != "" {
			fmt.Fprintf(c.stdout, "  Account: %s\n", balance.Email)
		}
		if balance.Points != nil {
			fmt.Fprintf(c.stdout, "  Points: %s\n", groupDigits(*balance.Points))
		}
	}
	fmt.Fprintf(c.stdout, "  The key is stored in %s, which every editor that runs poe-sidecar reads.\n", p.credPath)
}

// storedKeyBalance fetches from Poe the balance of the key in the credential file,
// which may differ from POE_API_KEY.
func (c *cli) storedKeyBalance(ctx context.Context, p *poeSetup) (provider.Balance, error) {
	cred, err := auth.NewStore(p.credPath).Load()
	if err != nil {
		return provider.Balance{}, err
	}
	if cred == nil {
		return provider.Balance{}, fmt.Errorf("the credential file %q is missing", p.credPath)
	}
	return p.poe.Balance(ctx, cred.APIKey)
}
