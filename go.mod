module github.com/entryhq/entry

go 1.26.8

require (
	github.com/google/renameio/v2 v2.0.2
	github.com/spf13/pflag v1.0.10
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sys v0.49.0
)
