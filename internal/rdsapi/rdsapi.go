// Package rdsapi is the part of the Amazon RDS API rds-provision uses: the
// instance behind an RDS-managed master secret (DescribeDBInstances), and
// the snapshot taken before a break-glass deletion (CreateDBSnapshot, a
// bounded wait until it is available, DescribeDBSnapshots).
package rdsapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/goldenpath/rds-provision/internal/awsconfig"
)

// Sentinel errors callers branch on.
var (
	ErrInstanceNotFound = errors.New("RDS instance not found")
	ErrSnapshotNotFound = errors.New("RDS snapshot not found")
	ErrAccessDenied     = errors.New("access denied by the RDS API")
	// ErrSnapshotTimeout: the snapshot was not available within the wait.
	ErrSnapshotTimeout = errors.New("RDS snapshot not available in time")
)

// DefaultCallTimeout bounds one call with its retries.
const DefaultCallTimeout = 45 * time.Second

// API is the part of the RDS client used here.
type API interface {
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, opts ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	CreateDBSnapshot(ctx context.Context, in *rds.CreateDBSnapshotInput, opts ...func(*rds.Options)) (*rds.CreateDBSnapshotOutput, error)
	DescribeDBSnapshots(ctx context.Context, in *rds.DescribeDBSnapshotsInput, opts ...func(*rds.Options)) (*rds.DescribeDBSnapshotsOutput, error)
}

// Client calls the RDS API.
type Client struct {
	api         API
	callTimeout time.Duration
	// pollMin and pollMax bound the waits between DescribeDBSnapshots
	// polls of WaitSnapshot.
	pollMin, pollMax time.Duration
}

// New wraps an API, for tests and callers with their own client.
func New(api API) *Client {
	return &Client{api: api, callTimeout: DefaultCallTimeout, pollMin: 15 * time.Second, pollMax: 60 * time.Second}
}

// NewAWS builds a client for region with the shared configuration
// (internal/awsconfig; AWS_ENDPOINT_URL_RDS points it elsewhere).
func NewAWS(ctx context.Context, region string) (*Client, error) {
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: region})
	if err != nil {
		return nil, err
	}
	return NewFromConfig(cfg), nil
}

// NewFromConfig builds a client from a loaded configuration.
func NewFromConfig(cfg aws.Config) *Client { return New(rds.NewFromConfig(cfg)) }

// WithPoll sets the shortest and longest wait between the polls of
// WaitSnapshot (default 15 s to 60 s).
func (c *Client) WithPoll(min, max time.Duration) *Client {
	c.pollMin, c.pollMax = min, max
	return c
}

// Instance is what rds-provision needs of a DB instance.
type Instance struct {
	Identifier string
	ARN        string
	Status     string // available, modifying, ...
	Engine     string
	Address    string // endpoint host
	Port       int
	// DBName is the database created with the instance; empty when it was
	// created without one (PostgreSQL then has only postgres).
	DBName          string
	MasterUsername  string
	MasterSecretARN string // MasterUserSecret.SecretArn, empty unless RDS manages it
}

// Instance describes one instance by identifier (DescribeDBInstances).
func (c *Client) Instance(ctx context.Context, id string) (Instance, error) {
	cctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	out, err := c.api.DescribeDBInstances(cctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return Instance{}, classify("DescribeDBInstances "+id, err)
	}
	if len(out.DBInstances) == 0 {
		return Instance{}, fmt.Errorf("%w: %s", ErrInstanceNotFound, id)
	}
	return instance(out.DBInstances[0]), nil
}

// InstanceByMasterSecret finds the instance whose RDS-managed master
// secret (MasterUserSecret) is secretARN, paging through
// DescribeDBInstances. ErrInstanceNotFound when none is.
func (c *Client) InstanceByMasterSecret(ctx context.Context, secretARN string) (Instance, error) {
	p := rds.NewDescribeDBInstancesPaginator(c.api, &rds.DescribeDBInstancesInput{})
	for p.HasMorePages() {
		cctx, cancel := context.WithTimeout(ctx, c.callTimeout)
		out, err := p.NextPage(cctx)
		cancel()
		if err != nil {
			return Instance{}, classify("DescribeDBInstances", err)
		}
		for _, db := range out.DBInstances {
			if db.MasterUserSecret != nil && aws.ToString(db.MasterUserSecret.SecretArn) == secretARN {
				return instance(db), nil
			}
		}
	}
	return Instance{}, fmt.Errorf("%w: no instance in this account and region has %s as its RDS-managed master secret", ErrInstanceNotFound, secretARN)
}

func instance(db types.DBInstance) Instance {
	in := Instance{
		Identifier:     aws.ToString(db.DBInstanceIdentifier),
		ARN:            aws.ToString(db.DBInstanceArn),
		Status:         aws.ToString(db.DBInstanceStatus),
		Engine:         aws.ToString(db.Engine),
		DBName:         aws.ToString(db.DBName),
		MasterUsername: aws.ToString(db.MasterUsername),
	}
	if db.Endpoint != nil {
		in.Address = aws.ToString(db.Endpoint.Address)
		in.Port = int(aws.ToInt32(db.Endpoint.Port))
	}
	if in.Port == 0 && db.DbInstancePort != nil {
		in.Port = int(*db.DbInstancePort)
	}
	if db.MasterUserSecret != nil {
		in.MasterSecretARN = aws.ToString(db.MasterUserSecret.SecretArn)
	}
	return in
}

// Snapshot is a manual DB snapshot.
type Snapshot struct {
	Identifier string
	ARN        string
	Instance   string
	Status     string // creating, available, ...
	Created    time.Time
}

// CreateSnapshot starts a manual snapshot of instance (CreateDBSnapshot)
// with tags; it returns at once, usually with status creating.
func (c *Client) CreateSnapshot(ctx context.Context, instanceID, snapshotID string, tags map[string]string) (Snapshot, error) {
	in := &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(instanceID), DBSnapshotIdentifier: aws.String(snapshotID)}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	cctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	out, err := c.api.CreateDBSnapshot(cctx, in)
	if err != nil {
		return Snapshot{}, classify("CreateDBSnapshot "+snapshotID+" of "+instanceID, err)
	}
	return snapshot(*out.DBSnapshot), nil
}

// Snapshot describes one snapshot by identifier (DescribeDBSnapshots).
func (c *Client) Snapshot(ctx context.Context, id string) (Snapshot, error) {
	cctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	out, err := c.api.DescribeDBSnapshots(cctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)})
	if err != nil {
		return Snapshot{}, classify("DescribeDBSnapshots "+id, err)
	}
	if len(out.DBSnapshots) == 0 {
		return Snapshot{}, fmt.Errorf("%w: %s", ErrSnapshotNotFound, id)
	}
	return snapshot(out.DBSnapshots[0]), nil
}

// Snapshots lists the manual snapshots of an instance, paging through
// DescribeDBSnapshots.
func (c *Client) Snapshots(ctx context.Context, instanceID string) ([]Snapshot, error) {
	var all []Snapshot
	p := rds.NewDescribeDBSnapshotsPaginator(c.api, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(instanceID), SnapshotType: aws.String("manual")})
	for p.HasMorePages() {
		cctx, cancel := context.WithTimeout(ctx, c.callTimeout)
		out, err := p.NextPage(cctx)
		cancel()
		if err != nil {
			return nil, classify("DescribeDBSnapshots of "+instanceID, err)
		}
		for _, s := range out.DBSnapshots {
			all = append(all, snapshot(s))
		}
	}
	return all, nil
}

// WaitSnapshot polls DescribeDBSnapshots until the snapshot is available,
// for at most maxWait; a snapshot that fails (deleted, failed,
// incompatible-*) or is still not available then is an error naming its
// last status.
func (c *Client) WaitSnapshot(ctx context.Context, id string, maxWait time.Duration) (Snapshot, error) {
	w := rds.NewDBSnapshotAvailableWaiter(c.api, func(o *rds.DBSnapshotAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = c.pollMin, c.pollMax
	})
	out, err := w.WaitForOutput(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)}, maxWait)
	if err == nil && len(out.DBSnapshots) > 0 {
		return snapshot(out.DBSnapshots[0]), nil
	}
	if ctx.Err() != nil {
		return Snapshot{}, fmt.Errorf("wait for snapshot %s: %w", id, ctx.Err())
	}
	last, derr := c.Snapshot(ctx, id)
	if derr != nil {
		return Snapshot{}, fmt.Errorf("wait for snapshot %s: %w", id, derr)
	}
	if last.Status == "available" {
		return last, nil
	}
	if err != nil && isTimeout(err) {
		return last, fmt.Errorf("%w: %s is still %s after %s: it goes on in the background; check it with aws rds describe-db-snapshots --db-snapshot-identifier %s", ErrSnapshotTimeout, id, last.Status, maxWait, id)
	}
	return last, fmt.Errorf("snapshot %s is %s, not available: %v", id, last.Status, err)
}

// isTimeout matches the SDK waiter's own timeout error, which is not a
// typed error ("exceeded max wait time for DBSnapshotAvailable waiter").
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "exceeded max wait time")
}

func snapshot(s types.DBSnapshot) Snapshot {
	return Snapshot{
		Identifier: aws.ToString(s.DBSnapshotIdentifier),
		ARN:        aws.ToString(s.DBSnapshotArn),
		Instance:   aws.ToString(s.DBInstanceIdentifier),
		Status:     aws.ToString(s.Status),
		Created:    aws.ToTime(s.SnapshotCreateTime),
	}
}

// classify maps the RDS API's error codes onto the sentinels, keeping the
// call that failed.
func classify(call string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "DBInstanceNotFound", "DBInstanceNotFoundFault":
			return fmt.Errorf("%s: %w: %w", call, ErrInstanceNotFound, err)
		case "DBSnapshotNotFound", "DBSnapshotNotFoundFault":
			return fmt.Errorf("%s: %w: %w", call, ErrSnapshotNotFound, err)
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
			return fmt.Errorf("%s: %w: %w", call, ErrAccessDenied, err)
		}
	}
	return fmt.Errorf("%s: %w", call, err)
}
