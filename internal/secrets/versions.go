package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// Staging labels of Secrets Manager's rotation protocol.
const (
	StageCurrent  = "AWSCURRENT"
	StagePending  = "AWSPENDING"
	StagePrevious = "AWSPREVIOUS"
)

// PasswordLength is the length of generated passwords: letters and digits
// only, about 238 bits.
const PasswordLength = 40

// ErrDeleted: the secret is scheduled for deletion.
var ErrDeleted = errors.New("secret is scheduled for deletion")

// Metadata is what DescribeSecret says of a secret (never its value).
type Metadata struct {
	ARN, Name         string
	Created           time.Time
	LastRotated       time.Time // zero unless Secrets Manager rotated it (RotateSecret)
	RotationEnabled   bool
	RotationLambdaARN string
	Deleted           bool
	// Stages maps each version id to its staging labels.
	Stages map[string][]string
	Tags   map[string]string
}

// VersionWith returns the id of the version carrying stage, "" when none.
func (m Metadata) VersionWith(stage string) string {
	for _, id := range slices.Sorted(maps.Keys(m.Stages)) {
		if slices.Contains(m.Stages[id], stage) {
			return id
		}
	}
	return ""
}

// Describe reads a secret's metadata with DescribeSecret.
func (c *Client) Describe(ctx context.Context, id string) (Metadata, error) {
	callCtx, cancel := c.bound(ctx)
	defer cancel()
	out, err := c.api.DescribeSecret(callCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return Metadata{}, classify(id, c.timedOut(ctx, err))
	}
	m := Metadata{
		ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name),
		Created: aws.ToTime(out.CreatedDate), LastRotated: aws.ToTime(out.LastRotatedDate),
		RotationEnabled: aws.ToBool(out.RotationEnabled), RotationLambdaARN: aws.ToString(out.RotationLambdaARN),
		Deleted: out.DeletedDate != nil, Stages: out.VersionIdsToStages, Tags: map[string]string{},
	}
	for _, t := range out.Tags {
		m.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}

// Version is one version of a secret.
type Version struct {
	ID      string
	Value   string
	Stages  []string
	Created time.Time
}

// GetVersion reads one version by id and/or staging label
// (GetSecretValue with VersionId and VersionStage). Rotation always
// addresses versions so, never the default.
func (c *Client) GetVersion(ctx context.Context, id, versionID, stage string) (Version, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	callCtx, cancel := c.bound(ctx)
	defer cancel()
	out, err := c.api.GetSecretValue(callCtx, in)
	if err != nil {
		return Version{}, classify(id, c.timedOut(ctx, err))
	}
	if out.SecretString == nil {
		return Version{}, &SecretError{Path: id, Err: ErrBinary}
	}
	return Version{ID: aws.ToString(out.VersionId), Value: *out.SecretString, Stages: out.VersionStages, Created: aws.ToTime(out.CreatedDate)}, nil
}

// PutPending stores value as the version token labelled AWSPENDING
// (PutSecretValue). The token makes it idempotent: the same token and
// value again is a no-op, Secrets Manager's retries included.
func (c *Client) PutPending(ctx context.Context, id, token, value string) error {
	callCtx, cancel := c.bound(ctx)
	defer cancel()
	_, err := c.api.PutSecretValue(callCtx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), ClientRequestToken: aws.String(token),
		SecretString: aws.String(value), VersionStages: []string{StagePending},
	})
	if err != nil {
		return classify(id, c.timedOut(ctx, err))
	}
	return nil
}

// MoveStage moves stage to version to, from version from ("" when no
// version has it); moving AWSCURRENT makes Secrets Manager label the
// version it left AWSPREVIOUS (UpdateSecretVersionStage).
func (c *Client) MoveStage(ctx context.Context, id, stage, to, from string) error {
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id), VersionStage: aws.String(stage)}
	if to != "" {
		in.MoveToVersionId = aws.String(to)
	}
	if from != "" {
		in.RemoveFromVersionId = aws.String(from)
	}
	callCtx, cancel := c.bound(ctx)
	defer cancel()
	if _, err := c.api.UpdateSecretVersionStage(callCtx, in); err != nil {
		return classify(id, c.timedOut(ctx, err))
	}
	return nil
}

// clientSafe are the only characters of generated passwords: no quote,
// backslash, space, or character that URLs, libpq connection strings,
// .pgpass, JDBC, shells or YAML treat specially.
func clientSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// RandomPassword asks Secrets Manager for a password (GetRandomPassword)
// of PasswordLength letters and digits, each kind included, and checks
// that it is so before anything stores it.
func (c *Client) RandomPassword(ctx context.Context) (string, error) {
	callCtx, cancel := c.bound(ctx)
	defer cancel()
	out, err := c.api.GetRandomPassword(callCtx, &secretsmanager.GetRandomPasswordInput{
		PasswordLength: aws.Int64(PasswordLength), ExcludePunctuation: aws.Bool(true),
		IncludeSpace: aws.Bool(false), RequireEachIncludedType: aws.Bool(true),
	})
	if err != nil {
		return "", fmt.Errorf("GetRandomPassword: %w", c.timedOut(ctx, err))
	}
	p := aws.ToString(out.RandomPassword)
	if len(p) != PasswordLength {
		return "", fmt.Errorf("GetRandomPassword returned %d characters, want %d", len(p), PasswordLength)
	}
	for _, r := range p {
		if !clientSafe(r) {
			return "", errors.New("GetRandomPassword returned a character other than a letter or digit")
		}
	}
	return p, nil
}

// AppSecretSpec is an application secret to create.
type AppSecretSpec struct {
	Name     string // <prefix>/<env>/<app>/postgres, or the entry's secret_name
	Username string
	DBName   string // the entry's database, for clients and the rotation function
	KMSKeyID string // empty: Secrets Manager's aws/secretsmanager key
	Tags     map[string]string
	// Token is the ClientRequestToken (32 to 64 characters): the SDK's
	// retries of the call reuse it, so a retry never makes a second version.
	Token string
}

// CreateApp creates an application secret with a generated password
// (CreateSecret), unless it exists with a value: created is false then and
// nothing is written. A secret without any value (Terraform made only the
// secret) gets its first version (PutSecretValue). A secret scheduled for deletion is ErrDeleted: restore it or
// choose another name. A create that loses a race with another run counts
// as existing.
func (c *Client) CreateApp(ctx context.Context, spec AppSecretSpec) (created bool, arn string, err error) {
	m, err := c.Describe(ctx, spec.Name)
	exists := err == nil
	switch {
	case err == nil && m.Deleted:
		return false, m.ARN, &SecretError{Path: spec.Name, Err: fmt.Errorf("%w: restore it (aws secretsmanager restore-secret --secret-id %s) or wait until it is deleted", ErrDeleted, spec.Name)}
	case err == nil && m.VersionWith(StageCurrent) != "":
		return false, m.ARN, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return false, "", err
	}
	password, err := c.RandomPassword(ctx)
	if err != nil {
		return false, "", err
	}
	value := map[string]string{"username": spec.Username, "password": password}
	if spec.DBName != "" {
		value["dbname"] = spec.DBName
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return false, "", err
	}
	if exists {
		// Terraform made the secret without a value (create_values = false
		// in examples/terraform-app-secrets.tf): write its first version.
		callCtx, cancel := c.bound(ctx)
		defer cancel()
		_, err := c.api.PutSecretValue(callCtx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(spec.Name), ClientRequestToken: aws.String(spec.Token),
			SecretString: aws.String(string(raw)), VersionStages: []string{StageCurrent},
		})
		if err != nil {
			return false, "", classify(spec.Name, c.timedOut(ctx, err))
		}
		return true, m.ARN, nil
	}
	in := &secretsmanager.CreateSecretInput{
		Name: aws.String(spec.Name), SecretString: aws.String(string(raw)),
		ClientRequestToken: aws.String(spec.Token),
		Description:        aws.String("PostgreSQL credentials of " + spec.Username + ", created by rds-provision"),
	}
	if spec.KMSKeyID != "" {
		in.KmsKeyId = aws.String(spec.KMSKeyID)
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Tags)) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(spec.Tags[k])})
	}
	callCtx, cancel := c.bound(ctx)
	defer cancel()
	out, err := c.api.CreateSecret(callCtx, in)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceExistsException" {
		m, derr := c.Describe(ctx, spec.Name)
		if derr != nil {
			return false, "", derr
		}
		return false, m.ARN, nil
	}
	if err != nil {
		return false, "", classify(spec.Name, c.timedOut(ctx, err))
	}
	return true, aws.ToString(out.ARN), nil
}
