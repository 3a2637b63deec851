package provision

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/goldenpath/rds-provision/internal/rdsapi"
	"github.com/goldenpath/rds-provision/internal/secrets"
)

// rdsManagedMaster makes an instance in moto whose master password RDS
// manages (ManageMasterUserPassword), and puts the test server's master
// credentials, username and password only, in its rds!db- secret. It
// returns the secret's ARN and the instance's address as RDS reports it.
func rdsManagedMaster(t *testing.T, id, dbname string) (secretARN, address string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := rds.NewFromConfig(cfg).CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("postgres"),
		AllocatedStorage: aws.Int32(20), MasterUsername: aws.String(masterUser), DBName: aws.String(dbname),
		Port: aws.Int32(int32(pg.Port)), ManageMasterUserPassword: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("create RDS instance in moto: %v", err)
	}
	secretARN = aws.ToString(out.DBInstance.MasterUserSecret.SecretArn)
	servers.MustPutSecret(t, secretARN, map[string]any{"username": masterUser, "password": pg.MasterPassword})
	return secretARN, aws.ToString(out.DBInstance.Endpoint.Address)
}

func (f *fixture) appendTfvars(lines ...string) {
	f.t.Helper()
	file, err := os.OpenFile(f.tfvars, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		f.t.Fatal(err)
	}
}

// An RDS-managed master secret holds only username and password: the
// endpoint comes from the tfvars, or from DescribeDBInstances on the
// instance whose MasterUserSecret it is.
func TestRDSManagedMasterSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "rdsmanaged")
	a := app{key: "managed_app", db: "managed_db", user: "managed_user", password: "managed-pw-1"}
	f.seedApps(a)
	secretARN, address := rdsManagedMaster(t, "rdsp-managed-"+f.env, pg.MasterDB)

	t.Run("endpoint from the tfvars", func(t *testing.T) {
		f.writeTfvars(a)
		f.appendTfvars(fmt.Sprintf("rds_endpoint = %q", pg.Host), fmt.Sprintf("rds_port = %d", pg.Port), fmt.Sprintf("database_name = %q", pg.MasterDB))
		out := f.run(func(o *Options) { o.MasterSecret = secretARN; o.RDS = failingRDS{t} })
		if out.err != nil {
			t.Fatalf("provision: %v\n%s", out.err, out.log)
		}
		if conn, err := login(a.user, a.password, a.db); err != nil {
			t.Fatalf("app cannot log in after provisioning with the RDS-managed master: %v", err)
		} else {
			conn.Close(context.Background())
		}
	})

	t.Run("port and database from DescribeDBInstances", func(t *testing.T) {
		// The host RDS reports is moto's made-up name; the tfvars give the
		// real one, and RDS the rest.
		f.writeTfvars(a)
		f.appendTfvars(fmt.Sprintf("rds_endpoint = %q", pg.Host))
		out := f.run(func(o *Options) { o.MasterSecret = secretARN })
		if out.err != nil {
			t.Fatalf("provision: %v\n%s", out.err, out.log)
		}
		if got := out.statuses(a.user); len(got) == 0 || got[0] != "create_role:no_change" {
			t.Errorf("rows %v, want the role found in place", got)
		}
	})

	t.Run("host from DescribeDBInstances", func(t *testing.T) {
		// Nothing in the tfvars: the run connects where RDS says the
		// instance is (moto's name, which does not resolve here).
		f.writeTfvars(a)
		out := f.run(func(o *Options) { o.MasterSecret = secretARN })
		if out.err == nil || !strings.Contains(out.log, address) {
			t.Fatalf("err = %v, want a connection to %s, the address DescribeDBInstances gave\n%s", out.err, address, out.log)
		}
	})

	t.Run("nothing gives the endpoint", func(t *testing.T) {
		// A secret of that shape that no instance has as its master.
		partial := "goldenpath/" + f.env + "/rds/partial"
		f.putSecret(partial, map[string]any{"username": masterUser, "password": pg.MasterPassword})
		f.writeTfvars(a)
		out := f.run(func(o *Options) { o.MasterSecret = partial })
		for _, want := range []string{
			"master secret " + partial + " has username and password but no host, port, dbname",
			"host (flag --db-host, or tfvars rds_endpoint)", "port (flag --db-port, or tfvars rds_port)", "dbname (flag --db-name, or tfvars database_name)",
			"rds:DescribeDBInstances) failed: RDS instance not found: no instance in this account and region has",
		} {
			if !strings.Contains(out.log, want) {
				t.Errorf("log lacks %q:\n%s", want, out.log)
			}
		}
		if strings.Contains(out.log+out.csv, pg.MasterPassword) {
			t.Error("the master password leaked")
		}
	})
}

// failingRDS fails the test when called: the tfvars gave everything.
type failingRDS struct{ t *testing.T }

func (f failingRDS) InstanceByMasterSecret(context.Context, string) (rdsapi.Instance, error) {
	f.t.Error("DescribeDBInstances called although the tfvars gave the endpoint")
	return rdsapi.Instance{}, nil
}

func (f failingRDS) Instance(context.Context, string) (rdsapi.Instance, error) {
	f.t.Error("DescribeDBInstances called although the tfvars gave the endpoint")
	return rdsapi.Instance{}, nil
}

var _ secrets.InstanceFinder = failingRDS{}
