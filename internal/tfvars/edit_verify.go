package tfvars

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// EntriesType is the Terraform type of application_databases in the RDS
// module: SPEC's map(object({database_name, username})), with the entry's
// instance optional. Terraform's object type drops the other attributes
// an entry may have (access_level, initial_schema, ...), so the module
// still accepts them.
const EntriesType = "map(object({ database_name = string, username = string, instance = optional(string) }))"

// InstancesType is the Terraform type of rds_instances: a map of
// objects with the attributes the reader accepts.
const InstancesType = "map(object({ tier = string, max_databases = number, master_secret = optional(string), rds_endpoint = optional(string), rds_port = optional(number), identifier = optional(string) }))"

// VerifyWithTerraform makes the real terraform CLI parse and type-check
// src as a -var-file: it plans a module without resources whose variables
// are every top-level attribute of src, typed any, except that
// application_databases (standalone) or rds_config.application_databases
// (coupled) has the module's type EntriesType, and rds_instances (top-level
// or in rds_config), when present, InstancesType. It returns terraform's
// output when the plan fails or does not see want entries. Tests use it on
// every edited file; it needs terraform on PATH (or bin) and no network.
func VerifyWithTerraform(ctx context.Context, bin string, src []byte, mode Mode, want int) error {
	if bin == "" {
		bin = "terraform"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return fmt.Errorf("verify with terraform: %w (install terraform >= 1.5 on PATH)", err)
	}
	body, err := parseBody("terraform.tfvars", src)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(body.Attributes))
	for name := range body.Attributes {
		names = append(names, name)
	}
	sort.Strings(names)
	var mod strings.Builder
	for _, name := range names {
		typ := "any"
		switch {
		case mode == ModeStandalone && name == "application_databases":
			typ = EntriesType
		case mode == ModeStandalone && name == "rds_instances":
			typ = InstancesType
		case mode == ModeCoupled && name == "rds_config":
			typ = "object({ application_databases = " + EntriesType + ", rds_instances = optional(" + InstancesType + ") })"
		}
		fmt.Fprintf(&mod, "variable %q {\n  type = %s\n}\n", name, typ)
	}
	count := "var.application_databases"
	if mode == ModeCoupled {
		count = "var.rds_config.application_databases"
	}
	fmt.Fprintf(&mod, "output \"entries\" {\n  value = length(%s)\n}\n", count)

	dir, err := os.MkdirTemp("", "tfvars-verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(mod.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "input.tfvars"), src, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, "plan", "-input=false", "-lock=false", "-no-color", "-var-file=input.tfvars")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "TF_IN_AUTOMATION=1", "TF_DATA_DIR="+filepath.Join(dir, ".terraform"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("terraform plan -var-file: %w\n%s", err, out.String())
	}
	if w := fmt.Sprintf("+ entries = %d\n", want); !strings.Contains(out.String(), w) {
		return fmt.Errorf("terraform plan did not see %d entries:\n%s", want, out.String())
	}
	return nil
}
