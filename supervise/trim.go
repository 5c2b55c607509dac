package supervise

import "runtime/debug"

// trimMemory returns the heap garbage of the start-up pipeline (parsed
// templates, vault plaintext buffers, SDK responses) to the kernel, so that
// an idle PID 1 keeps only the private memory supervision needs.
//
// It deliberately leaves entry's own executable alone: its pages are clean,
// shared and reclaimable, and paging them out would only make RSS look
// smaller at the price of major faults on the first signals PID 1 handles.
func trimMemory() {
	debug.FreeOSMemory()
}
