package cli

import (
	"flag"

	"github.com/goldenpath/rds-provision/internal/secrets"
)

// addMasterEndpointFlags registers the flags that give the master's
// endpoint, which an RDS-managed master secret (username and password
// only) does not hold; they override the secret's own fields.
func addMasterEndpointFlags(fs *flag.FlagSet, e *secrets.Endpoint) {
	fs.StringVar(&e.Host, "db-host", "", "RDS endpoint host, when the master secret has none (RDS-managed) or to override it (default: the secret, then tfvars rds_endpoint, then DescribeDBInstances)")
	fs.IntVar(&e.Port, "db-port", 0, "RDS port, as --db-host (default: the secret, then tfvars rds_port, then DescribeDBInstances)")
	fs.StringVar(&e.DBName, "db-name", "", "database the master connects to, as --db-host (default: the secret, then tfvars database_name, then DescribeDBInstances)")
}

// checkMasterEndpoint refuses a --db-port outside 1..65535.
func checkMasterEndpoint(e secrets.Endpoint) error {
	if e.Port < 0 || e.Port > 65535 {
		return usageErrorf("--db-port %d: want a port from 1 to 65535", e.Port)
	}
	return nil
}
