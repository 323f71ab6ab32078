//go:build !unix

package store

import "os"

// lockFile is a no-op where flock does not exist.
func lockFile(string) (*os.File, error) { return nil, nil }
