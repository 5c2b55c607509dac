package main

import (
	"fmt"

	"github.com/entryhq/entry/config"
	"github.com/entryhq/entry/supervise"
)

// metricsAddress is where the role serves its Prometheus metrics: --metrics
// (ENTRY_METRICS), else metrics: in entry.yml; "" (or none) serves none.
func metricsAddress(fs *flagSet, flag string, cfg *config.File) (string, error) {
	addr, from := flag, "--metrics (ENTRY_METRICS)"
	if !fs.isSet("metrics") {
		addr, from = cfg.Metrics, "metrics"
		if cfg.Path != "" {
			from = cfg.Path + ": metrics"
		}
	}
	if addr == "" || addr == "none" {
		return "", nil
	}
	if err := supervise.CheckMetricsAddress(addr); err != nil {
		return "", fmt.Errorf("%s: %v", from, err)
	}
	return addr, nil
}
