package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"strings"
	"text/tabwriter"

	"github.com/poe-sidecar/poe-sidecar/provider"
)

var modelsCommand = &command{
	name:     "models",
	synopsis: "models [--json]",
	summary:  "list Poe's models",
	help: `Usage: poe-sidecar models [--json]

Lists the models that Poe's API serves, in Poe's order, with their owner, context
window and price. Poe serves this list without a key, so it works before login.

The price is in US dollars per million tokens, for input and output; models that Poe
prices per request or per image show that price instead, and "-" means Poe lists no
price.

Flags:
  --json          print {"models": [...]} with every field Poe reports, in the same
                  shape as the protocol's provider/models result, for scripts
  -v, --verbose   write debug logs to stderr
`,
	run: runModels,
}

func runModels(ctx context.Context, c *cli, args []string) error {
	flags := flag.NewFlagSet("models", flag.ContinueOnError)
	asJSON := flags.Bool("json", false, "")
	positional, err := c.parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("models takes no arguments, not %q", positional[0])
	}

	p, err := c.setup()
	if err != nil {
		return err
	}
	stop := c.startSpinner(func() string { return "Fetching the model list from Poe" })
	models, err := p.poe.Models(ctx)
	stop()
	if err != nil {
		return err
	}
	if models == nil {
		models = []provider.Model{}
	}

	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Models []provider.Model `json:"models"`
		}{models})
	}
	_, err = c.stdout.Write(modelTable(models, c.outStyle))
	return err
}

// modelTable formats models as aligned columns under a header line.
func modelTable(models []provider.Model, s style) []byte {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tOWNER\tCONTEXT\tPRICE (USD, input / output per 1M tokens)")
	for _, m := range models {
		owner := m.OwnedBy
		if owner == "" {
			owner = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, owner, formatTokens(m.ContextWindow), formatPrice(m.Pricing))
	}
	_ = tw.Flush()

	// The header is styled after alignment, because tabwriter would count the escape
	// codes as text.
	header, rest, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
	out := []byte(s.bold(string(header)) + "\n")
	return append(out, rest...)
}

// formatTokens formats a context window: 200000 as "200K", 1048576 as "1,048,576",
// and 0 (unknown) as "-".
func formatTokens(n int) string {
	switch {
	case n <= 0:
		return "-"
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("%dK", n/1000)
	default:
		return groupDigits(int64(n))
	}
}

// formatPrice formats Poe's pricing, decimal strings in US dollars per token or per
// unit, without rounding errors: "$2.60 / $13.00" per million input and output tokens,
// "$0.04 per request", "$0.02 per image", or "-".
func formatPrice(pricing map[string]any) string {
	prompt, hasPrompt := decimal(pricing["prompt"])
	completion, hasCompletion := decimal(pricing["completion"])
	if hasPrompt || hasCompletion {
		perMillion := big.NewRat(1_000_000, 1)
		return dollars(prompt, hasPrompt, perMillion) + " / " + dollars(completion, hasCompletion, perMillion)
	}
	if request, ok := decimal(pricing["request"]); ok {
		return dollars(request, true, big.NewRat(1, 1)) + " per request"
	}
	if image, ok := decimal(pricing["image"]); ok {
		return dollars(image, true, big.NewRat(1, 1)) + " per image"
	}
	return "-"
}

// decimal parses one of Poe's decimal price strings. Poe sends null for a price that
// does not apply.
func decimal(value any) (*big.Rat, bool) {
	text, ok := value.(string)
	if !ok || strings.TrimSpace(text) == "" {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(strings.TrimSpace(text))
	return r, ok
}

// dollars formats price×scale with two decimals, or with enough decimals to show a
// price below one cent.
func dollars(price *big.Rat, ok bool, scale *big.Rat) string {
	if !ok {
		return "-"
	}
	v := new(big.Rat).Mul(price, scale)
	text := v.FloatString(2)
	if v.Sign() > 0 && text == "0.00" {
		text = strings.TrimRight(v.FloatString(6), "0")
	}
	return "$" + text
}
