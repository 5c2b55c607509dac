// Command renderonly renders one ERB template with package render and
// nothing else linked in. bench/render.sh runs it beside entry to show
// how much of a whole `entry render` process is rendering and how much is
// the start-up cost of the rest of the binary (package initialisation).
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/entryhq/entry/render"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: renderonly TEMPLATE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t, err := render.Parse(os.Args[1], data)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, os.LookupEnv, render.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out.Bytes())
}
