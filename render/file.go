package render

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/entryhq/entry/internal/readcap"
)

// MaxSize is the largest template file ReadFile accepts: ten times the
// largest real config template one could imagine, and small enough that
// parsing and rendering one stays well under a second and ~100 MB.
const MaxSize = readcap.Template

// ReadFile reads the template file at path for Parse. A file larger than
// MaxSize, a device or a FIFO is refused at once, before it is read, with
// its size; a missing file says so.
func ReadFile(path string) ([]byte, error) {
	data, err := readcap.ReadFile(path, "template", MaxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such template (check the path)", path)
	}
	return data, err
}

// ParseFile reads the template at path with ReadFile and parses it, naming
// it by path in errors.
func ParseFile(path string) (*Template, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}
