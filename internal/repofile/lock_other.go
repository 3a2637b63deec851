//go:build !unix

package repofile

import (
	"errors"
	"os"
)

func tryLock(*os.File) (bool, error) {
	return false, errors.New("file locking is supported on Unix systems only")
}

func unlockFile(*os.File) {}
