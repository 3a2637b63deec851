package request

import (
	"fmt"
	"regexp"
	"sync"

	"go.yaml.in/yaml/v3"
)

// EnumsPath is where an infra repo may keep its own enum lists; it is the
// platform's canonical vocabulary file, so the same file serves both.
const EnumsPath = "schemas/metadata/enums.yaml"

// MaxEnumsSize bounds the enum override file.
const MaxEnumsSize = 1 << 20

// Enums are the allowed values of the form's enum fields.
type Enums struct {
	Owners         []string
	Domains        []string
	Environments   []string
	Risks          []string
	Sizes          []string          // size tiers, in display order
	InstanceClass  map[string]string // size tier -> RDS instance class
	InitialSchemas []string
	// SizesByEnvironment limits the sizes of an environment; an
	// environment not listed may use every size.
	SizesByEnvironment map[string][]string
}

// DefaultEnums returns SPEC's lists.
func DefaultEnums() Enums {
	return Enums{
		Owners:       []string{"unknown", "platform-team", "security-team", "operations-team", "sre-team", "app-team", "database-team"},
		Domains:      []string{"platform-core", "delivery", "identity", "catalog", "observability", "governance", "security", "cost", "governance-routing", "platform-governance"},
		Environments: []string{"dev", "test", "staging", "prod"},
		Risks:        []string{"none", "low", "medium", "high", "access"},
		Sizes:        []string{"small", "medium", "large", "xlarge"},
		InstanceClass: map[string]string{
			"small":  "db.t3.micro",
			"medium": "db.t3.small",
			"large":  "db.t3.medium",
			"xlarge": "db.r6g.large",
		},
		InitialSchemas:     []string{"none", "basic-app", "event-sourcing"},
		SizesByEnvironment: map[string][]string{"dev": {"small"}},
	}
}

// enumsFile is the part of schemas/metadata/enums.yaml this tool reads.
// The platform's vocabulary file holds many other lists; they are ignored.
type enumsFile struct {
	Owners       []string `yaml:"owners"`
	Domains      []string `yaml:"domains"`
	Environments []string `yaml:"environments"`
	// The platform file names the risk levels of a data set this way.
	Risks              []string            `yaml:"risk_profile_security_risk"`
	SizeTiers          yaml.Node           `yaml:"rds_size_tiers"`
	InitialSchemas     []string            `yaml:"rds_initial_schemas"`
	SizesByEnvironment map[string][]string `yaml:"rds_size_by_environment"`
}

// The patterns compile on first use, not at package initialisation: their
// bounded repeats cost every start of the binary, --help included.
var (
	enumValuePattern     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`) })
	instanceClassPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`) })
)

// ParseEnums reads an enum override file. Every list present replaces the
// default of its field; lists absent keep SPEC's defaults. Values are held to
// a strict pattern so that an override can never let a hostile value through.
//
// A file over MaxEnumsSize is refused unparsed: the YAML parser holds many
// times a file's size in memory.
func ParseEnums(src []byte) (Enums, error) {
	e := DefaultEnums()
	if len(src) > MaxEnumsSize {
		return e, fmt.Errorf("parse %s: %d bytes, over the limit of %d (%d MiB); the vocabulary file is a few KiB", EnumsPath, len(src), MaxEnumsSize, MaxEnumsSize>>20)
	}
	var f enumsFile
	if err := yaml.Unmarshal(src, &f); err != nil {
		return e, fmt.Errorf("parse %s: %w", EnumsPath, err)
	}
	lists := []struct {
		key string
		in  []string
		out *[]string
	}{
		{"owners", f.Owners, &e.Owners},
		{"domains", f.Domains, &e.Domains},
		{"environments", f.Environments, &e.Environments},
		{"risk_profile_security_risk", f.Risks, &e.Risks},
		{"rds_initial_schemas", f.InitialSchemas, &e.InitialSchemas},
	}
	for _, l := range lists {
		if l.in == nil {
			continue
		}
		if err := checkEnumList(l.key, l.in); err != nil {
			return e, err
		}
		*l.out = l.in
	}
	if !f.SizeTiers.IsZero() {
		if f.SizeTiers.Kind != yaml.MappingNode || len(f.SizeTiers.Content) == 0 {
			return e, fmt.Errorf("parse %s: rds_size_tiers must map each size to an instance class, e.g. small: db.t3.micro", EnumsPath)
		}
		e.Sizes = nil
		e.InstanceClass = map[string]string{}
		for i := 0; i+1 < len(f.SizeTiers.Content); i += 2 {
			size, class := f.SizeTiers.Content[i].Value, f.SizeTiers.Content[i+1].Value
			if !enumValuePattern().MatchString(size) {
				return e, fmt.Errorf("parse %s: rds_size_tiers: size %s must match %s", EnumsPath, QuoteValue(size), enumValuePattern())
			}
			if !instanceClassPattern().MatchString(class) {
				return e, fmt.Errorf("parse %s: rds_size_tiers.%s: instance class %s must match %s", EnumsPath, size, QuoteValue(class), instanceClassPattern())
			}
			if _, dup := e.InstanceClass[size]; dup {
				return e, fmt.Errorf("parse %s: rds_size_tiers: duplicate size %q", EnumsPath, size)
			}
			e.Sizes = append(e.Sizes, size)
			e.InstanceClass[size] = class
		}
	}
	if f.SizesByEnvironment != nil {
		for env, sizes := range f.SizesByEnvironment {
			if !enumValuePattern().MatchString(env) {
				return e, fmt.Errorf("parse %s: rds_size_by_environment: environment %s must match %s", EnumsPath, QuoteValue(env), enumValuePattern())
			}
			for _, s := range sizes {
				if _, ok := e.InstanceClass[s]; !ok {
					return e, fmt.Errorf("parse %s: rds_size_by_environment.%s: unknown size %s", EnumsPath, env, QuoteValue(s))
				}
			}
		}
		e.SizesByEnvironment = f.SizesByEnvironment
	}
	return e, nil
}

func checkEnumList(key string, values []string) error {
	if len(values) == 0 {
		return fmt.Errorf("parse %s: %s must not be empty", EnumsPath, key)
	}
	seen := map[string]bool{}
	for _, v := range values {
		if !enumValuePattern().MatchString(v) {
			return fmt.Errorf("parse %s: %s: value %s must match %s", EnumsPath, key, QuoteValue(v), enumValuePattern())
		}
		if seen[v] {
			return fmt.Errorf("parse %s: %s: duplicate value %q", EnumsPath, key, v)
		}
		seen[v] = true
	}
	return nil
}
