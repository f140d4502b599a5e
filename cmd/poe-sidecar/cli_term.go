package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/term"
)

// cli is the standard streams and environment of one terminal command, with what is
// known about them: which streams are terminals and whether colour is allowed.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
	logger *slog.Logger // discard, or stderr with --verbose

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	animate   bool  // spinners on stderr: a terminal that can move the cursor
	outStyle  style // colour on stdout
	errStyle  style // colour on stderr

	// envKeySet records that POE_API_KEY is set, so that errors about a rejected key
	// can name the variable. setup sets it.
	envKeySet bool

	openBrowser func(url string) error       // nil: openWithSystemBrowser
	readFile    func(string) ([]byte, error) // for WSL detection; nil: os.ReadFile
}

func newCLI(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *cli {
	c := &cli{
		stdin:     stdin,
		stdout:    stdout,
		stderr:    stderr,
		getenv:    getenv,
		now:       time.Now,
		logger:    slog.New(slog.DiscardHandler),
		stdinTTY:  isTerminal(stdin),
		stdoutTTY: isTerminal(stdout),
		stderrTTY: isTerminal(stderr),
	}

	// NO_COLOR turns colour off when it is set to any non-empty value
	// (https://no-color.org); TERM=dumb means the terminal understands no escapes.
	dumb := getenv("TERM") == "dumb"
	colour := getenv("NO_COLOR") == "" && !dumb
	c.outStyle = style{on: colour && c.stdoutTTY}
	c.errStyle = style{on: colour && c.stderrTTY}
	// Spinners go with colour: the README promises neither under NO_COLOR.
	c.animate = c.stderrTTY && !dumb && getenv("NO_COLOR") == ""
	return c
}

// fileDescriptor is implemented by *os.File.
type fileDescriptor interface{ Fd() uintptr }

// isTerminal reports whether stream is a file that is a terminal.
func isTerminal(stream any) bool {
	f, ok := stream.(fileDescriptor)
	return ok && term.IsTerminal(int(f.Fd()))
}

// style adds ANSI colours to text when on is set, and returns text unchanged otherwise.
type style struct{ on bool }

func (s style) wrap(code, text string) string {
	if !s.on {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) bold(text string) string   { return s.wrap("1", text) }
func (s style) dim(text string) string    { return s.wrap("2", text) }
func (s style) red(text string) string    { return s.wrap("31", text) }
func (s style) green(text string) string  { return s.wrap("32", text) }
func (s style) yellow(text string) string { return s.wrap("33", text) }

// spinnerFrames are drawn one after another, every spinnerInterval.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

const spinnerInterval = 100 * time.Millisecond

// clearLine moves the cursor to the start of the line and erases the line.
const clearLine = "\r\x1b[K"

// startSpinner draws a spinner and label() on stderr until the returned function is
// called, which erases the line before it returns. label is called on every frame, so
// it can show a countdown. When stderr cannot animate, nothing is drawn; callers print
// a plain line instead.
func (c *cli) startSpinner(label func() string) (stop func()) {
	if !c.animate {
		return func() {}
	}

	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(spinnerInterval)
		defer ticker.Stop()
		for frame := 0; ; frame++ {
			fmt.Fprintf(c.stderr, "%s%s %s", clearLine, c.errStyle.yellow(spinnerFrames[frame%len(spinnerFrames)]), label())
			select {
			case <-quit:
				fmt.Fprint(c.stderr, clearLine)
				return
			case <-ticker.C:
			}
		}
	}()

	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		close(quit)
		<-done
	}
}

// formatCountdown formats a remaining duration as "4:59", rounding up to whole seconds
// so that the countdown reaches 0:00 only when the time is up.
func formatCountdown(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	seconds := int((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%d:%02d", seconds/60, seconds%60)
}

// formatRelative formats the distance from now to t in days, hours or minutes:
// "in 3 days", "in 5 minutes", "2 hours ago".
func formatRelative(t, now time.Time) string {
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}

	// A unit is used from two of it upward, and the amount is rounded to the nearest
	// whole unit, so that a key issued for 90 days reads "in 90 days" a second later.
	var amount string
	switch {
	case d >= 48*time.Hour:
		amount = fmt.Sprintf("%d days", roundDiv(d, 24*time.Hour))
	case d >= 2*time.Hour:
		amount = fmt.Sprintf("%d hours", roundDiv(d, time.Hour))
	case d >= 2*time.Minute:
		amount = fmt.Sprintf("%d minutes", roundDiv(d, time.Minute))
	case d >= time.Minute:
		amount = "1 minute"
	default:
		amount = "less than a minute"
	}
	if past {
		return amount + " ago"
	}
	return "in " + amount
}

func roundDiv(d, unit time.Duration) int64 {
	return int64((d + unit/2) / unit)
}

// formatWhen formats a time for the user in the local time zone, with how far it is
// from now: "2027-03-04 10:00 CET (in 90 days)".
func formatWhen(t, now time.Time) string {
	return t.Local().Format("2006-01-02 15:04 MST") + " (" + formatRelative(t, now) + ")"
}

// groupDigits writes n with commas between groups of three digits: 12345 as "12,345".
func groupDigits(n int64) string {
	digits := fmt.Sprintf("%d", n)
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}

	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}
