// Command bench measures what poe-sidecar costs an editor, side by side with
// a bare reference sidecar, and writes the figures as Markdown.
//
// It builds the real binary and the reference (package bench/bare). It runs a
// stand-in for Poe's chat endpoint on 127.0.0.1 that stamps each chunk with
// the time it writes it. It drives both programs over pipes the way an
// editor does and measures start-up to the initialize response, memory and
// CPU while idle, relay throughput and latency, memory during a long stream,
// and binary size. Last it runs the Go micro-benchmarks of the hot paths.
//
// Run it from the repository root:
//
//	go run ./bench -out docs/benchmarks.md   # the full run, about three minutes
//	go run ./bench -short                    # the CI smoke run, to stdout
//
// See bench/README.md for what each figure means.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// config sizes a run.
type config struct {
	short        bool
	startRuns    int           // recorded starts per target
	peerRuns     int           // recorded starts of the peer
	idleCopies   int           // processes per target in the idle window
	idle         time.Duration // length of the idle window
	rounds       int           // rounds of each relay case per target
	burstChunks  int           // chunks per burst stream, 1 stream
	burstChunks2 int           // chunks per burst stream, 20 streams
	paced1       int           // chunks of the 1 ms paced stream
	paced20      int           // chunks per 10 ms paced stream, 20 streams
	longSizes    []int64       // text bytes of the long streams
	benchtime    string        // -benchtime of the micro-benchmarks
}

func fullConfig() config {
	return config{
		startRuns:    21,
		peerRuns:     5,
		idleCopies:   3,
		idle:         5 * time.Second,
		rounds:       5,
		burstChunks:  20000,
		burstChunks2: 2000,
		paced1:       3000,
		paced20:      300,
		longSizes:    []int64{25 << 20, 100 << 20},
		benchtime:    "1s",
	}
}

// shortConfig proves that every part still runs; its figures mean little.
func shortConfig() config {
	return config{
		short:        true,
		startRuns:    3,
		peerRuns:     1,
		idleCopies:   1,
		idle:         time.Second,
		rounds:       1,
		burstChunks:  1000,
		burstChunks2: 100,
		paced1:       200,
		paced20:      20,
		longSizes:    []int64{2 << 20, 8 << 20},
		benchtime:    "200x",
	}
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	out := flag.String("out", "", "write the Markdown report to this file instead of stdout")
	short := flag.Bool("short", false, "run a few seconds of each part, to check that the benchmark works (the figures are not meaningful)")
	peer := flag.String("peer", "", "also start this command (split at spaces) as a peer language server and compare its start-up and idle memory")
	peerName := flag.String("peer-name", "peer", "the peer's name in the report")
	noMicro := flag.Bool("no-micro", false, "skip the Go micro-benchmarks")
	flag.Parse()

	cfg := fullConfig()
	if *short {
		cfg = shortConfig()
	}
	report, err := run(cfg, *peer, *peerName, !*noMicro)
	if err != nil {
		log.Fatal(err)
	}

	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		w = f
	}
	if err := report.write(w); err != nil {
		log.Fatalf("write the report: %v", err)
	}
	if *out != "" {
		log.Printf("wrote %s", *out)
	}
}

// run performs every measurement and returns the report.
func run(cfg config, peerCommand, peerName string, micro bool) (*report, error) {
	began := time.Now()
	clock := func() time.Duration { return time.Since(began) }
	rep := &report{cfg: cfg, began: began, peerName: peerName}

	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "sidecarbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	log.Printf("building poe-sidecar and the bare reference")
	if rep.ours, err = buildBinary(root, tmp, "poe-sidecar", "./cmd/poe-sidecar"); err != nil {
		return nil, err
	}
	if rep.bare, err = buildBinary(root, tmp, "bare", "./bench/bare"); err != nil {
		return nil, err
	}

	poe, err := startPoe(clock)
	if err != nil {
		return nil, err
	}
	defer poe.close()

	home := filepath.Join(tmp, "home")
	env := []string{
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"POE_BASE_URL=" + poe.url,
		"POE_API_KEY=" + benchKey,
	}
	ours := target{name: nameOurs, argv: []string{rep.ours.path, "--stdio"}, env: env}
	bare := target{name: nameBare, argv: []string{rep.bare.path}, env: env}
	targets := []target{ours, bare}
	startTargets := targets
	if peerCommand != "" {
		startTargets = append(startTargets, peerTarget(peerCommand, peerName, env, cfg.peerRuns))
		rep.peer = true
	}

	log.Printf("start-up: %d starts of each program", cfg.startRuns)
	if rep.startup, err = measureStartup(startTargets, cfg.startRuns, clock); err != nil {
		return nil, err
	}
	log.Printf("idle: %d of each program for %s", cfg.idleCopies, cfg.idle)
	if rep.idle, err = measureIdle(startTargets, cfg.idleCopies, cfg.idle, clock); err != nil {
		return nil, err
	}

	rep.cases = []relayCase{
		{streams: 1, chunks: cfg.burstChunks},
		{streams: 20, chunks: cfg.burstChunks2},
		{streams: 1, chunks: cfg.paced1, every: time.Millisecond},
		{streams: 20, chunks: cfg.paced20, every: 10 * time.Millisecond},
	}
	log.Printf("relay: %d rounds of %d cases", cfg.rounds, len(rep.cases))
	if rep.relay, err = measureRelay(targets, rep.cases, cfg.rounds, clock); err != nil {
		return nil, err
	}

	for _, size := range cfg.longSizes {
		log.Printf("long stream: %d MiB", size>>20)
		for _, t := range targets {
			r, err := measureLongStream(t, size, clock)
			if err != nil {
				return nil, err
			}
			rep.long = append(rep.long, namedLongStream{name: t.name, longStream: r})
		}
	}

	if micro {
		log.Printf("micro-benchmarks")
		if rep.micro, err = runMicro(root, cfg.benchtime); err != nil {
			return nil, err
		}
	}
	rep.took = time.Since(began)
	return rep, nil
}

const (
	nameOurs = "poe-sidecar"
	nameBare = "bare"
)

// peerTarget starts command as an LSP server with the editor information that
// GitHub Copilot's language server asks for in initializationOptions.
func peerTarget(command, name string, env []string, runs int) target {
	return target{
		name: name,
		argv: strings.Fields(command),
		env:  env,
		initOptions: map[string]any{
			"editorInfo":       map[string]string{"name": "sidecarbench", "version": "1"},
			"editorPluginInfo": map[string]string{"name": "sidecarbench", "version": "1"},
		},
		maxRuns: runs,
		slow:    true,
	}
}

func init() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench [-short] [-out FILE] [-peer COMMAND]\n\nFlags:\n")
		flag.PrintDefaults()
	}
}
