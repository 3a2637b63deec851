package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/goldenpath/rds-provision/internal/rdsapi"
)

// Endpoint is where the master connects: what an RDS-managed master secret
// (ManageMasterUserPassword, rds!db-...) does not hold.
type Endpoint struct {
	Host   string
	Port   int
	DBName string
}

// InstanceFinder finds the instance whose RDS-managed master secret is a
// given ARN; *rdsapi.Client is the real one.
type InstanceFinder interface {
	InstanceByMasterSecret(ctx context.Context, secretARN string) (rdsapi.Instance, error)
	Instance(ctx context.Context, id string) (rdsapi.Instance, error)
}

// MasterInput is what ResolveMaster draws on, in order of precedence for
// each of host, port and dbname: Flags, then the secret itself, then
// Tfvars, then DescribeDBInstances through RDS (only when one is still
// missing).
type MasterInput struct {
	Path string // the secret id as given (name or ARN)
	Raw  string // its JSON
	ARN  string // the secret's ARN, as Secrets Manager returned it
	// Flags are the command's --db-host, --db-port and --db-name.
	Flags Endpoint
	// Tfvars are rds_endpoint, rds_port and database_name of the tfvars;
	// Identifier is its identifier, the instance DescribeDBInstances
	// checks first.
	Tfvars     Endpoint
	Identifier string
	// RDS is nil when no lookup may be made (no region, or the caller has
	// no RDS access).
	RDS InstanceFinder
}

// ResolveMaster validates the master secret and fills the endpoint an
// RDS-managed secret lacks. username and password always come from the
// secret; errors name fields and where they may come from, never values.
func ResolveMaster(ctx context.Context, in MasterInput) (Master, error) {
	m, err := parseMasterFields(in.Path, in.Raw)
	if err != nil {
		return Master{}, err
	}
	fill := func(e Endpoint) {
		if e.Host != "" {
			m.Host = e.Host
		}
		if e.Port != 0 {
			m.Port = e.Port
		}
		if e.DBName != "" {
			m.DBName = e.DBName
		}
	}
	fillMissing := func(e Endpoint) {
		if m.Host == "" {
			m.Host = e.Host
		}
		if m.Port == 0 {
			m.Port = e.Port
		}
		if m.DBName == "" {
			m.DBName = e.DBName
		}
	}
	fill(in.Flags)
	fillMissing(in.Tfvars)
	var lookupErr error
	if len(missingEndpoint(m)) > 0 && in.RDS != nil {
		var inst rdsapi.Instance
		if inst, lookupErr = findInstance(ctx, in); lookupErr == nil {
			dbname := inst.DBName
			if dbname == "" {
				// An instance created without DBName has only postgres.
				dbname = "postgres"
			}
			fillMissing(Endpoint{Host: inst.Address, Port: inst.Port, DBName: dbname})
		}
	}
	if missing := missingEndpoint(m); len(missing) > 0 {
		return Master{}, missingError(in, missing, lookupErr)
	}
	return m, nil
}

// findInstance asks RDS for the instance: the tfvars identifier when it
// names one whose master secret is this one, else the one instance whose
// MasterUserSecret is this secret.
func findInstance(ctx context.Context, in MasterInput) (rdsapi.Instance, error) {
	arn := in.ARN
	if arn == "" && strings.HasPrefix(in.Path, "arn:") {
		arn = in.Path
	}
	if in.Identifier != "" {
		inst, err := in.RDS.Instance(ctx, in.Identifier)
		if err != nil {
			return rdsapi.Instance{}, err
		}
		if arn != "" && inst.MasterSecretARN != arn {
			return rdsapi.Instance{}, fmt.Errorf("instance %s (tfvars identifier) does not have %s as its RDS-managed master secret (its MasterUserSecret is %q): check --master-secret and the identifier", in.Identifier, in.Path, inst.MasterSecretARN)
		}
		return inst, nil
	}
	if arn == "" {
		return rdsapi.Instance{}, errors.New("the secret's ARN is unknown, so its instance cannot be looked up")
	}
	return in.RDS.InstanceByMasterSecret(ctx, arn)
}

func missingEndpoint(m Master) []string {
	var missing []string
	if m.Host == "" {
		missing = append(missing, "host")
	}
	if m.Port == 0 {
		missing = append(missing, "port")
	}
	if m.DBName == "" {
		missing = append(missing, "dbname")
	}
	return missing
}

var endpointSources = map[string][2]string{
	"host":   {"--db-host", "rds_endpoint"},
	"port":   {"--db-port", "rds_port"},
	"dbname": {"--db-name", "database_name"},
}

func missingError(in MasterInput, missing []string, lookupErr error) error {
	var where []string
	for _, f := range missing {
		s := endpointSources[f]
		where = append(where, fmt.Sprintf("%s (flag %s, or tfvars %s)", f, s[0], s[1]))
	}
	msg := fmt.Sprintf("master secret %s has username and password but no %s, as an RDS-managed master secret (rds!db-...) does: give %s; inside rds_config in coupled mode", in.Path, strings.Join(missing, ", "), strings.Join(where, ", "))
	switch {
	case in.RDS == nil:
		msg += "; or let rds-provision find the instance whose MasterUserSecret is this secret (rds:DescribeDBInstances)"
	case lookupErr != nil:
		msg += fmt.Sprintf("; finding the instance whose MasterUserSecret is this secret (rds:DescribeDBInstances) failed: %v", lookupErr)
	}
	return errors.New(msg)
}

// parseMasterFields reads the master secret: username and password are
// required, host, port and dbname optional (a present port must be valid).
func parseMasterFields(path, raw string) (Master, error) {
	var fields map[string]any
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		return Master{}, fmt.Errorf("master secret %s is not a JSON object", path)
	}
	var m Master
	var missing []string
	str := func(name string, dst *string, required bool) {
		v, ok := fields[name].(string)
		if !ok || v == "" {
			if required || fields[name] != nil {
				missing = append(missing, name)
			}
			return
		}
		*dst = v
	}
	str("host", &m.Host, false)
	str("username", &m.Username, true)
	str("password", &m.Password, true)
	str("dbname", &m.DBName, false)
	var portErr error
	if fields["port"] != nil {
		if m.Port, portErr = parsePort(fields["port"]); portErr != nil {
			missing = append(missing, "port")
		}
	}
	if len(missing) > 0 {
		err := fmt.Errorf("master secret %s: missing or invalid field(s) %s (need username and password; host, port and dbname unless they come from flags, the tfvars or DescribeDBInstances)", path, strings.Join(missing, ", "))
		if portErr != nil {
			err = fmt.Errorf("%w; %w", err, portErr)
		}
		return Master{}, err
	}
	if err := checkPassword(m.Password); err != nil {
		return Master{}, fmt.Errorf("master secret %s: %w", path, err)
	}
	return m, nil
}
