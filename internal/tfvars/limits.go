package tfvars

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Bounds on a tfvars file, checked before the HCL parser sees it: the
// parser recurses once per nested bracket, so a file of nested brackets
// exhausts the stack and kills the process. Real files are a few KiB and a
// handful of levels deep (application_databases = { key = { ... } }).
const (
	MaxFileSize = 512 << 10 // bytes
	MaxNesting  = 32        // brackets, parentheses and template interpolations
)

// ErrTooLarge is returned (wrapped) for a file over MaxFileSize.
var ErrTooLarge = errors.New("tfvars file too large")

// readBounded reads at most MaxFileSize bytes of the file at path.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read tfvars %s: %w", path, err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read tfvars %s: %w", path, err)
	}
	if err := checkSize(path, src); err != nil {
		return nil, err
	}
	return src, nil
}

func checkSize(path string, src []byte) error {
	if len(src) > MaxFileSize {
		return fmt.Errorf("%w: %s is over the limit of %d bytes (%d KiB); a tfvars file of application databases is a few KiB", ErrTooLarge, path, MaxFileSize, MaxFileSize>>10)
	}
	return nil
}

// checkNesting walks the tokens of src (HCL's lexer is not recursive, its
// parser is) and refuses nesting deeper than MaxNesting at its first
// too-deep token.
func checkNesting(path string, src []byte) error {
	tokens, _ := hclsyntax.LexConfig(src, path, hcl.InitialPos)
	depth := 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			if depth > MaxNesting {
				return errorAt(tok.Range, "brackets nested more than %d deep: the limit is %d (a tfvars file of application databases needs a few levels)", MaxNesting, MaxNesting)
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd:
			depth--
		}
	}
	return nil
}

// checkEntries refuses what application_databases alone shows to be wrong,
// before any network call, so a run never makes half of a conflicting
// file:
//   - a second owner entry for a database: both would claim it, and
//     whichever ran first would own it;
//   - an editor or reader entry for a database no owner entry lists: that
//     database is not the file's to share (another team's, or made by
//     hand), and an entry must not be a way into it;
//   - with rds_instances, a database on two instances, and an editor or
//     reader entry on another instance than its database's owner entry
//     (checkPlacement).
func checkEntries(entries []Entry, places []entryPlace) error {
	owner := map[string]int{} // database_name -> index of its owner entry
	for i, e := range entries {
		if e.AccessLevel != AccessOwner {
			continue
		}
		if j, dup := owner[e.DatabaseName]; dup {
			o := entries[j]
			if o.Instance != e.Instance {
				return errorAt(places[i].key, "application_databases.%s puts database %s on instance %s, and application_databases.%s (line %d) puts it on instance %s: a database name is unique in an environment, across its instances (the catalog keys its entry by name, and grant, change-access and retire requests find the database by name); rename one of them", e.Key, e.DatabaseName, e.Instance, o.Key, o.Line, o.Instance)
			}
			return errorAt(places[i].key, "application_databases.%s (line %d) and application_databases.%s (line %d) are both owner entries of database %s: a database has one owner entry; give the other access_level = \"editor\" or \"reader\", or remove it", o.Key, o.Line, e.Key, e.Line, e.DatabaseName)
		}
		owner[e.DatabaseName] = i
	}
	for i, e := range entries {
		j, ok := owner[e.DatabaseName]
		if !ok {
			return errorAt(places[i].key, "application_databases.%s: access_level %s on database %s, which no owner entry of application_databases lists: a database is shared with editor and reader entries only beside its owner entry; add that entry (the app whose role owns the database; an owner cannot be demoted, its role owns the database), or remove this one", e.Key, e.AccessLevel, e.DatabaseName)
		}
		if o := entries[j]; o.Instance != e.Instance {
			at := places[i].key
			if places[i].instance != nil {
				at = *places[i].instance
			}
			return errorAt(at, "application_databases.%s: access_level %s on database %s puts the role on instance %s, but the database is on instance %s (application_databases.%s, line %d): a role is given access on its database's instance; set instance = %q", e.Key, e.AccessLevel, e.DatabaseName, e.Instance, o.Instance, o.Key, o.Line, o.Instance)
		}
	}
	return nil
}

// ErrEnvironmentMismatch is returned (wrapped) when the file's environment
// attribute names another environment than the run's.
var ErrEnvironmentMismatch = errors.New("tfvars environment does not match --env")

// CheckEnvironment refuses a file whose top-level environment attribute
// names another environment than env: the approval gate is decided by env,
// so running --env dev on prod's tfvars would skip it.
func (f *File) CheckEnvironment(env string) error {
	if f.Environment == "" || f.Environment == env {
		return nil
	}
	return fmt.Errorf("%w: %s sets environment = %q but the run is for --env %s; pass the tfvars of %s, or --env %s (with its approval)", ErrEnvironmentMismatch, f.Path, f.Environment, env, env, f.Environment)
}
