package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// binary is one built program and its size.
type binary struct {
	path          string
	size          int64 // default build
	strippedSize  int64 // built with -ldflags="-s -w"
	strippedPath  string
	packageImport string
}

// moduleRoot returns the folder of the main module, so the benchmark can be
// run from any folder inside the repository.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root with 'go env GOMOD': %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the benchmark inside the poe-sidecar repository: 'go env GOMOD' found no go.mod")
	}
	return filepath.Dir(gomod), nil
}

// buildBinary builds pkg (such as "./cmd/poe-sidecar") twice into dir: as
// 'go build' makes it, which is what the benchmark runs, and stripped of its
// symbol table and DWARF data, for the size table only.
func buildBinary(root, dir, name, pkg string) (binary, error) {
	b := binary{
		path:          filepath.Join(dir, name),
		strippedPath:  filepath.Join(dir, name+"-stripped"),
		packageImport: pkg,
	}
	for _, build := range []struct {
		out   string
		flags []string
	}{
		{b.path, nil},
		{b.strippedPath, []string{"-ldflags=-s -w"}},
	} {
		args := append([]string{"build", "-o", build.out}, build.flags...)
		args = append(args, pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}

	for _, f := range []struct {
		path string
		size *int64
	}{{b.path, &b.size}, {b.strippedPath, &b.strippedSize}} {
		info, err := os.Stat(f.path)
		if err != nil {
			return b, err
		}
		*f.size = info.Size()
	}
	return b, nil
}

// microResult is one line of 'go test -bench' output.
type microResult struct {
	pkg, name    string
	nsPerOp      float64
	bytesPerOp   int64
	allocsPerOp  int64
	extraMetrics string
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)

// runMicro runs the Go micro-benchmarks of the hot paths and parses their
// results. benchtime is passed to -benchtime.
func runMicro(root, benchtime string) ([]microResult, error) {
	args := []string{"test", "-run", "^$", "-bench", "^Benchmark(Frame|SSEReader|ChatStreamChunk|RelayChunk)", "-benchmem", "-benchtime", benchtime, "-count", "1", "./rpc", "./provider"}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}

	var results []microResult
	pkg := ""
	lines := bufio.NewScanner(bytes.NewReader(out))
	for lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(rest, "github.com/poe-sidecar/poe-sidecar/")
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := microResult{pkg: pkg, name: m[1]}
		r.nsPerOp, _ = strconv.ParseFloat(m[2], 64)
		var extra []string
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			value, unit := fields[i], fields[i+1]
			switch unit {
			case "B/op":
				r.bytesPerOp, _ = strconv.ParseInt(value, 10, 64)
			case "allocs/op":
				r.allocsPerOp, _ = strconv.ParseInt(value, 10, 64)
			default:
				extra = append(extra, value+" "+unit)
			}
		}
		r.extraMetrics = strings.Join(extra, ", ")
		results = append(results, r)
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("go %s printed no benchmark results:\n%s", strings.Join(args, " "), out)
	}
	return results, nil
}
