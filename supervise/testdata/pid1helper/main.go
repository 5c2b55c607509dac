// Command pid1helper supervises the role given as JSON in
// SUPERVISE_TEST_HELPER ({"Role": …}), as entry does, built without the
// race detector: the soak test measures the memory of the supervisor
// itself, not of the race detector's bookkeeping.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"

	"github.com/entryhq/entry/supervise"
)

func main() {
	signals := make(chan os.Signal, 64)
	signal.Notify(signals)
	var spec struct{ Role supervise.Role }
	if err := json.Unmarshal([]byte(os.Getenv("SUPERVISE_TEST_HELPER")), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "pid1helper:", err)
		os.Exit(98)
	}
	s, err := supervise.New(spec.Role)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pid1helper:", err)
		os.Exit(98)
	}
	os.Exit(s.Run(signals))
}
