// Command trimmodel writes a botocore service-2.json reduced to some
// operations and the shapes they reach, without documentation, for a
// fake's testdata:
//
//	go run ./internal/awsmodel/trimmodel SERVICE-2.JSON[.gz] OUT.json Op...
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/entryhq/entry/internal/awsmodel"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: trimmodel SERVICE-2.JSON OUT.json OPERATION...")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err == nil {
		var m *awsmodel.Model
		if m, err = awsmodel.Load(data); err == nil {
			if m, err = m.Trim(os.Args[3:]...); err == nil {
				var out []byte
				out, err = json.MarshalIndent(m, "", " ")
				if err == nil {
					err = os.WriteFile(os.Args[2], append(out, '\n'), 0o644)
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "trimmodel:", err)
		os.Exit(1)
	}
}
