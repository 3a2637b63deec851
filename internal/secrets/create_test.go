package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"
)

func TestCreateAppCreatesOnceWithTagsAndKey(t *testing.T) {
	t.Parallel()
	api := newAPI(t)
	c := New(api)
	ctx := context.Background()
	spec := AppSecretSpec{
		Name: "test-create/dev/inventory/postgres", Username: "inventory_user", DBName: "inventory",
		KMSKeyID: "alias/rds-apps", Tags: map[string]string{"environment": "dev", "app": "inventory", "owner": "app-team"},
		Token: "rds-provision-create-0000000000000001",
	}
	created, arn, err := c.CreateApp(ctx, spec)
	if err != nil || !created || arn == "" {
		t.Fatalf("first CreateApp = %v, %q, %v; want created with an ARN", created, arn, err)
	}
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(spec.Name), VersionStage: aws.String(StageCurrent)})
	if err != nil {
		t.Fatal(err)
	}
	var value map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &value); err != nil {
		t.Fatal(err)
	}
	if value["username"] != "inventory_user" || value["dbname"] != "inventory" || len(value["password"]) != PasswordLength || len(value) != 3 {
		t.Errorf("secret holds %v keys (username %q, dbname %q, password of %d characters), want username, dbname and a %d-character password", len(value), value["username"], value["dbname"], len(value["password"]), PasswordLength)
	}
	if _, err := ParseApp(spec.Name, aws.ToString(out.SecretString), "inventory_user"); err != nil {
		t.Errorf("provision would refuse the created secret: %v", err)
	}
	m, err := c.Describe(ctx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec.Tags, m.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	desc, err := api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(spec.Name)})
	if err != nil || aws.ToString(desc.KmsKeyId) != "alias/rds-apps" {
		t.Errorf("KmsKeyId = %q, %v; want alias/rds-apps", aws.ToString(desc.KmsKeyId), err)
	}

	// A rerun creates nothing and keeps the password.
	again := spec
	again.Token = "rds-provision-create-0000000000000002"
	created, arn2, err := c.CreateApp(ctx, again)
	if err != nil || created || arn2 != arn {
		t.Fatalf("second CreateApp = %v, %q, %v; want not created, same ARN", created, arn2, err)
	}
	after, _ := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(spec.Name), VersionStage: aws.String(StageCurrent)})
	if aws.ToString(after.SecretString) != aws.ToString(out.SecretString) || len(m.Stages) != 1 {
		t.Error("the rerun changed the secret")
	}
}

func TestCreateAppRefusesASecretScheduledForDeletion(t *testing.T) {
	t.Parallel()
	api := newAPI(t)
	c := New(api)
	ctx := context.Background()
	name := "test-create/dev/deleted/postgres"
	seed(t, api, name, `{"password":"old-password-1"}`)
	if _, err := api.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.CreateApp(ctx, AppSecretSpec{Name: name, Username: "deleted_user", Token: "rds-provision-create-0000000000000003"})
	if !errors.Is(err, ErrDeleted) || !strings.Contains(err.Error(), "restore-secret --secret-id "+name) {
		t.Fatalf("err = %v, want ErrDeleted with the restore command", err)
	}
}

func TestRandomPasswordIsClientSafe(t *testing.T) {
	t.Parallel()
	c := New(newAPI(t))
	seen := map[string]bool{}
	for range 20 {
		p, err := c.RandomPassword(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != PasswordLength || strings.IndexFunc(p, func(r rune) bool { return !clientSafe(r) }) >= 0 || seen[p] {
			t.Fatalf("password of %d characters, client-safe %v, repeated %v", len(p), strings.IndexFunc(p, func(r rune) bool { return !clientSafe(r) }) < 0, seen[p])
		}
		seen[p] = true
	}
}

// Terraform may make the secret (tags, key, policy) and leave its value to
// rds-provision: the first version is written, once.
func TestCreateAppFillsASecretWithoutValue(t *testing.T) {
	t.Parallel()
	api := newAPI(t)
	c := New(api)
	ctx := context.Background()
	name := "test-create/dev/empty/postgres"
	if _, err := api.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	spec := AppSecretSpec{Name: name, Username: "empty_user", DBName: "empty", Token: "rds-provision-create-0000000000000004"}
	if created, _, err := c.CreateApp(ctx, spec); err != nil || !created {
		t.Fatalf("CreateApp = %v, %v; want the value written", created, err)
	}
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: aws.String(StageCurrent)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseApp(name, aws.ToString(out.SecretString), "empty_user"); err != nil {
		t.Errorf("written value: %v", err)
	}
	spec.Token = "rds-provision-create-0000000000000005"
	if created, _, err := c.CreateApp(ctx, spec); err != nil || created {
		t.Errorf("second CreateApp = %v, %v; want nothing written", created, err)
	}
}
