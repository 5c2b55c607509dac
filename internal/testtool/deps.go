package testtool

// renameio is the atomic-write library render, secrets and assets use; this
// import keeps it in go.mod until they do.
import _ "github.com/google/renameio/v2"
