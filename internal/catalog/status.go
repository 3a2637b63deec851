package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/goldenpath/rds-provision/internal/yamledit"
)

// SetStatus sets metadata.status of the entries of env named in statuses
// (database name -> status, one of Statuses) in the catalog src, and moves
// last_updated when anything changed. An entry is env's when its
// metadata.environment says env, or says nothing and the file's
// rds_instance is env's. Entries of other environments, and names the file
// does not hold, are left alone; changed lists the names whose status moved,
// and is empty (src returned as is) when every status already holds, so a
// rerun writes nothing.
//
// The values are rewritten in place in src with the line editor Upsert
// uses (internal/yamledit), so comments, quoting, line endings and other
// YAML documents stay; a layout it cannot edit in place is encoded whole,
// or refused with ErrLayout.
func SetStatus(src []byte, env string, statuses map[string]string, now time.Time) (out []byte, changed []string, err error) {
	for name, s := range statuses {
		if !slices.Contains(Statuses, s) {
			return nil, nil, fmt.Errorf("catalog: status %q of %s: want one of %s", s, name, strings.Join(Statuses, ", "))
		}
	}
	f, err := load(src)
	if err != nil {
		return nil, nil, err
	}
	if f.Doc() == nil {
		return src, nil, nil
	}
	root := f.Root()
	ownFile := yamledit.Scalar(root, "rds_instance") == Instance(env)
	dbs := yamledit.Lookup(root, "databases")
	if dbs == nil || dbs.Kind != yaml.MappingNode {
		return src, nil, nil
	}

	ed := yamledit.NewEditor(f)
	for i := 0; i+1 < len(dbs.Content); i += 2 {
		name, entry := dbs.Content[i].Value, dbs.Content[i+1]
		want, ok := statuses[name]
		if !ok {
			continue
		}
		meta := yamledit.Lookup(entry, "metadata")
		if meta == nil || meta.Kind != yaml.MappingNode {
			continue
		}
		if e := yamledit.Scalar(meta, "environment"); e != env && (e != "" || !ownFile) {
			continue
		}
		switch cur := yamledit.Lookup(meta, "status"); {
		case cur != nil && cur.Kind == yaml.ScalarNode && cur.Value == want:
			continue
		case cur != nil && cur.Kind == yaml.ScalarNode:
			ed.SetScalar(cur, want)
		default:
			ed.SetKey(meta, "status", yamledit.Str(want))
		}
		changed = append(changed, name)
	}
	if len(changed) == 0 {
		return src, nil, nil
	}

	touchLastUpdated(ed, root, now)
	out, err = written(ed)
	if err != nil {
		return nil, nil, err
	}
	return out, changed, nil
}
