// Command wasmsize shows where the bytes of Go Wasm modules go: for each
// module its code, data and other sections, and the code bytes of each Go
// package (and, with -funcs, of each function), read from the module's
// name section. Modules built with -ldflags=-s have no name section; build
// them without it to measure (`make size` does).
//
//	wasmsize [-top 30] [-funcs 0] build/size/faults.wasm build/size/suite.wasm
package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	top := flag.Int("top", 30, "packages to list, largest first; the rest are summed in one row")
	funcs := flag.Int("funcs", 0, "also list this many of the largest functions of each module")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wasmsize [-top n] [-funcs n] module.wasm...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var mods []*module
	for _, path := range flag.Args() {
		b, err := os.ReadFile(path)
		if err == nil {
			var m *module
			m, err = parse(b)
			if m != nil {
				m.name = strings.TrimSuffix(filepath.Base(path), ".wasm")
				mods = append(mods, m)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "wasmsize: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
	writeSections(os.Stdout, mods)
	fmt.Println()
	writePackages(os.Stdout, mods, *top)
	if *funcs > 0 {
		for _, m := range mods {
			fmt.Println()
			writeFunctions(os.Stdout, m, *funcs)
		}
	}
}

const kb = 1000.0

func writeSections(w io.Writer, mods []*module) {
	fmt.Fprintf(w, "%-24s", "section, KB")
	for _, m := range mods {
		fmt.Fprintf(w, " %11s", m.name)
	}
	fmt.Fprintln(w)
	rows := []struct {
		name string
		f    func(*module) int
	}{
		{"file", func(m *module) int { return m.file }},
		{"code", func(m *module) int { return m.code }},
		{"data", func(m *module) int { return m.data }},
		{"name section", func(m *module) int { return m.names }},
		{"other", func(m *module) int { return m.file - m.code - m.data - m.names }},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-24s", r.name)
		for _, m := range mods {
			fmt.Fprintf(w, " %11.1f", float64(r.f(m))/kb)
		}
		fmt.Fprintln(w)
	}
}

// writePackages writes the code bytes of each package, one column per
// module, the packages largest first by their largest module.
func writePackages(w io.Writer, mods []*module, top int) {
	largest := map[string]int{}
	for _, m := range mods {
		for pkg, n := range m.packages() {
			largest[pkg] = max(largest[pkg], n)
		}
	}
	pkgs := make([]string, 0, len(largest))
	for pkg := range largest {
		pkgs = append(pkgs, pkg)
	}
	slices.SortFunc(pkgs, func(a, b string) int {
		return cmp.Or(cmp.Compare(largest[b], largest[a]), strings.Compare(a, b))
	})
	width := 24
	for _, pkg := range pkgs[:min(top, len(pkgs))] {
		width = max(width, len(pkg))
	}
	fmt.Fprintf(w, "%-*s", width, "package code, KB")
	for _, m := range mods {
		fmt.Fprintf(w, " %11s", m.name)
	}
	fmt.Fprintln(w)
	sums := make([]map[string]int, len(mods))
	for i, m := range mods {
		sums[i] = m.packages()
	}
	for i, pkg := range pkgs {
		if i == top {
			fmt.Fprintf(w, "%-*s", width, fmt.Sprintf("(%d more packages)", len(pkgs)-top))
			for j := range mods {
				rest := 0
				for _, p := range pkgs[top:] {
					rest += sums[j][p]
				}
				fmt.Fprintf(w, " %11.1f", float64(rest)/kb)
			}
			fmt.Fprintln(w)
			break
		}
		fmt.Fprintf(w, "%-*s", width, pkg)
		for j := range mods {
			if n, ok := sums[j][pkg]; ok {
				fmt.Fprintf(w, " %11.1f", float64(n)/kb)
			} else {
				fmt.Fprintf(w, " %11s", "-")
			}
		}
		fmt.Fprintln(w)
	}
}

func writeFunctions(w io.Writer, m *module, n int) {
	fs := slices.Clone(m.funcs)
	slices.SortFunc(fs, func(a, b function) int { return cmp.Or(cmp.Compare(b.size, a.size), strings.Compare(a.name, b.name)) })
	fmt.Fprintf(w, "%s: the %d largest functions, bytes of code\n", m.name, min(n, len(fs)))
	for _, f := range fs[:min(n, len(fs))] {
		fmt.Fprintf(w, "%9d  %s\n", f.size, f.name)
	}
}
