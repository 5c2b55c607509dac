package main

// entryKitTool names the EntryKit tools entry answers to when invoked under
// their names.
func isEntryKitTool(name string) bool {
	switch name {
	case "prehook", "codep", "switch", "render":
		return true
	}
	return false
}

// An entryKitTask is one task of an EntryKit argument list: [name=]"command".
type entryKitTask struct {
	Name  string
	Shell string
}

func runEntryKit(tool string, args []string) int { return fail(exitFailure, "entrykit: not built yet") }
