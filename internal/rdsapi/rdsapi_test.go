package rdsapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goldenpath/rds-provision/internal/testenv"
)

var moto *testenv.Moto

func TestMain(m *testing.M) {
	var err error
	moto, err = testenv.StartMoto(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "rdsapi tests need moto_server:", err)
		os.Exit(1)
	}
	moto.SetEnv()
	code := m.Run()
	moto.Stop()
	os.Exit(code)
}

func newClient(t *testing.T) (*Client, *rds.Client) {
	t.Helper()
	c, err := NewAWS(context.Background(), "eu-west-2")
	if err != nil {
		t.Fatal(err)
	}
	return c.WithPoll(10*time.Millisecond, 50*time.Millisecond), c.api.(*rds.Client)
}

// createInstance makes a PostgreSQL instance in moto; managed asks RDS to
// manage the master password in Secrets Manager.
func createInstance(t *testing.T, api *rds.Client, id string, managed bool) *rds.CreateDBInstanceOutput {
	t.Helper()
	in := &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id),
		DBInstanceClass:      aws.String("db.t3.micro"),
		Engine:               aws.String("postgres"),
		AllocatedStorage:     aws.Int32(20),
		MasterUsername:       aws.String("platform_admin"),
		DBName:               aws.String("platform"),
		Port:                 aws.Int32(6543),
	}
	if managed {
		in.ManageMasterUserPassword = aws.Bool(true)
	} else {
		in.MasterUserPassword = aws.String("not-used-by-the-test-1")
	}
	out, err := api.CreateDBInstance(context.Background(), in)
	if err != nil {
		t.Fatalf("create instance %s: %v", id, err)
	}
	return out
}

func TestInstanceAndInstanceByMasterSecret(t *testing.T) {
	t.Parallel()
	c, api := newClient(t)
	ctx := context.Background()
	createInstance(t, api, "rdsapi-plain", false)
	managed := createInstance(t, api, "rdsapi-managed", true)
	secretARN := aws.ToString(managed.DBInstance.MasterUserSecret.SecretArn)
	if !strings.Contains(secretARN, ":secret:rds!db-") {
		t.Fatalf("moto made master secret %q, want an rds!db- secret", secretARN)
	}

	got, err := c.Instance(ctx, "rdsapi-plain")
	if err != nil {
		t.Fatal(err)
	}
	want := Instance{Identifier: "rdsapi-plain", Status: "available", Engine: "postgres", Port: 6543, DBName: "platform", MasterUsername: "platform_admin"}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Instance{}, "ARN", "Address")); diff != "" {
		t.Errorf("Instance (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.Address, "rdsapi-plain.") {
		t.Errorf("Address = %q, want the instance's endpoint", got.Address)
	}

	bysecret, err := c.InstanceByMasterSecret(ctx, secretARN)
	if err != nil {
		t.Fatal(err)
	}
	if bysecret.Identifier != "rdsapi-managed" || bysecret.MasterSecretARN != secretARN || bysecret.Port != 6543 || bysecret.DBName != "platform" {
		t.Errorf("InstanceByMasterSecret = %+v, want rdsapi-managed with its secret, port and database", bysecret)
	}

	if _, err := c.InstanceByMasterSecret(ctx, "arn:aws:secretsmanager:eu-west-2:123456789012:secret:rds!db-none-AbCdEf"); !errors.Is(err, ErrInstanceNotFound) {
		t.Errorf("unknown secret: err = %v, want ErrInstanceNotFound", err)
	}
	if _, err := c.Instance(ctx, "rdsapi-missing"); !errors.Is(err, ErrInstanceNotFound) || !strings.Contains(err.Error(), "rdsapi-missing") {
		t.Errorf("unknown instance: err = %v, want ErrInstanceNotFound naming it", err)
	}
}

func TestSnapshotCreateWaitDescribe(t *testing.T) {
	t.Parallel()
	c, api := newClient(t)
	ctx := context.Background()
	createInstance(t, api, "rdsapi-snap", false)

	created, err := c.CreateSnapshot(ctx, "rdsapi-snap", "rdsapi-snap-before-drop", map[string]string{"database": "keycloak", "reason": "decommission"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Identifier != "rdsapi-snap-before-drop" || created.Instance != "rdsapi-snap" {
		t.Errorf("CreateSnapshot = %+v", created)
	}
	ready, err := c.WaitSnapshot(ctx, "rdsapi-snap-before-drop", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if ready.Status != "available" || ready.Created.IsZero() {
		t.Errorf("WaitSnapshot = %+v, want available with its creation time", ready)
	}
	list, err := c.Snapshots(ctx, "rdsapi-snap")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Identifier != "rdsapi-snap-before-drop" {
		t.Errorf("Snapshots = %+v, want the one snapshot", list)
	}
	tags, err := api.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String(ready.ARN)})
	if err != nil {
		t.Fatal(err)
	}
	gotTags := map[string]string{}
	for _, tg := range tags.TagList {
		gotTags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if diff := cmp.Diff(map[string]string{"database": "keycloak", "reason": "decommission"}, gotTags); diff != "" {
		t.Errorf("snapshot tags (-want +got):\n%s", diff)
	}

	if _, err := c.Snapshot(ctx, "rdsapi-snap-missing"); !errors.Is(err, ErrSnapshotNotFound) {
		t.Errorf("missing snapshot: err = %v, want ErrSnapshotNotFound", err)
	}
	if _, err := c.CreateSnapshot(ctx, "rdsapi-no-such-instance", "rdsapi-orphan", nil); !errors.Is(err, ErrInstanceNotFound) {
		t.Errorf("snapshot of a missing instance: err = %v, want ErrInstanceNotFound", err)
	}
}

// stuckAPI answers DescribeDBSnapshots with a snapshot that stays in
// creating, as a large instance's does for a long time.
type stuckAPI struct {
	API
	polls int
}

func (s *stuckAPI) DescribeDBSnapshots(ctx context.Context, in *rds.DescribeDBSnapshotsInput, opts ...func(*rds.Options)) (*rds.DescribeDBSnapshotsOutput, error) {
	s.polls++
	out, err := s.API.DescribeDBSnapshots(ctx, in, opts...)
	if err == nil {
		for i := range out.DBSnapshots {
			out.DBSnapshots[i].Status = aws.String("creating")
		}
	}
	return out, err
}

// The wait is bounded: a snapshot still creating after it is an error that
// names its status and how to follow it, not a hang.
func TestWaitSnapshotIsBounded(t *testing.T) {
	t.Parallel()
	_, api := newClient(t)
	ctx := context.Background()
	createInstance(t, api, "rdsapi-slow", false)
	stuck := &stuckAPI{API: api}
	c := New(stuck).WithPoll(10*time.Millisecond, 20*time.Millisecond)
	if _, err := c.CreateSnapshot(ctx, "rdsapi-slow", "rdsapi-slow-snap", nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.WaitSnapshot(ctx, "rdsapi-slow-snap", 300*time.Millisecond)
	if !errors.Is(err, ErrSnapshotTimeout) || !strings.Contains(err.Error(), "still creating") || !strings.Contains(err.Error(), "describe-db-snapshots") {
		t.Fatalf("err = %v, want ErrSnapshotTimeout naming the status and the follow-up command", err)
	}
	if got.Status != "creating" || stuck.polls < 2 {
		t.Errorf("last status %q after %d polls, want creating after several", got.Status, stuck.polls)
	}
}
