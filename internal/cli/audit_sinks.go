package cli

import (
	"github.com/goldenpath/rds-provision/internal/audit"
)

// auditLog is a command's audit: the CSV on standard output, and appended
// to auditOutput when given (header only when the file is new). close
// closes the file.
func auditLog(env Env, auditOutput string) (log *audit.Log, close func(), err error) {
	log = audit.NewLog()
	if err := log.AddSink(env.Stdout, true); err != nil {
		return nil, nil, err
	}
	if auditOutput == "" {
		return log, func() {}, nil
	}
	f, header, err := audit.OpenAppend(auditOutput)
	if err != nil {
		return nil, nil, err
	}
	if err := log.AddSink(f, header); err != nil {
		f.Close()
		return nil, nil, err
	}
	return log, func() { f.Close() }, nil
}
