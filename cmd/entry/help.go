package main

import (
	"fmt"
	"os"
	"text/tabwriter"
)

// runHelp is `entry help [SUBCOMMAND]`.
func runHelp(args []string) int {
	if len(args) == 0 {
		printMainHelp()
		return exitOK
	}
	if len(args) == 1 {
		if sc := lookupSubcommand(args[0]); sc != nil && sc.name != "help" {
			return sc.run([]string{"--help"})
		}
	}
	return fail(exitUsage, "help: no subcommand %q (see 'entry help')", args[0])
}

// printMainHelp prints the start command's usage and flags, then the
// subcommands: the answer to both `entry help` and `entry --help`.
func printMainHelp() {
	fs, _ := newStartFlags()
	fs.printUsage(os.Stdout)
	fmt.Println("\nSubcommands:")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	for _, sc := range subcommands {
		fmt.Fprintf(tw, "  %s\t%s\n", sc.name, sc.summary)
	}
	tw.Flush()
	fmt.Println("\nRun 'entry SUBCOMMAND --help' for a subcommand's flags. Documentation: docs/cli.md")
}
