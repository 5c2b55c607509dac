package main

import (
	"fmt"
	"os"
	"text/tabwriter"
)

// runHelp is `entry help [SUBCOMMAND [VERB...]]`.
func runHelp(args []string) int {
	if len(args) == 0 {
		printMainHelp()
		return exitOK
	}
	return helpPath(args)
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
