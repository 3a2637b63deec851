package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/goldenpath/rds-provision/internal/yamledit"
)

// Key names what a status belongs to: a database's own entry (Username
// empty), or the access record of Username under it.
type Key struct {
	Database string
	Username string // "" for the database's own metadata.status
}

func (k Key) String() string {
	if k.Username == "" {
		return k.Database
	}
	return k.Database + "/" + k.Username
}

// SetStatus sets metadata.status of the entries of env named in statuses
// (database name -> status, one of Statuses); see SetStatuses.
func SetStatus(src []byte, env string, statuses map[string]string, now time.Time) (out []byte, changed []string, err error) {
	keyed := make(map[Key]string, len(statuses))
	for name, s := range statuses {
		keyed[Key{Database: name}] = s
	}
	return SetStatuses(src, env, keyed, now)
}

// SetStatuses sets the status of each key in the catalog src of env: a
// database's metadata.status, or the status of one of its access records,
// and moves last_updated when anything changed. An entry is env's when its
// metadata.environment says env, or says nothing and the file's
// rds_instance is env's. Entries of other environments, and names or
// records the file does not hold, are left alone; changed lists the keys
// whose status moved (database, or database/username), and is empty (src
// returned as is) when every status already holds, so a rerun writes
// nothing. A status on the way out (decommissioning, retired,
// decommissioned) is never moved back to active.
//
// The values are rewritten in place in src with the line editor Upsert
// uses (internal/yamledit), so comments, quoting, line endings and other
// YAML documents stay; a layout it cannot edit in place is encoded whole,
// or refused with ErrLayout.
func SetStatuses(src []byte, env string, statuses map[Key]string, now time.Time) (out []byte, changed []string, err error) {
	for k, s := range statuses {
		if !slices.Contains(Statuses, s) {
			return nil, nil, fmt.Errorf("catalog: status %q of %s: want one of %s", s, k, strings.Join(Statuses, ", "))
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
	set := func(m *yaml.Node, k Key) {
		want, ok := statuses[k]
		if !ok || m == nil || m.Kind != yaml.MappingNode {
			return
		}
		switch cur := yamledit.Lookup(m, "status"); {
		case cur != nil && cur.Kind == yaml.ScalarNode && cur.Value == want:
			return
		case cur != nil && want == "active" && (IsRetiring(cur.Value) || cur.Value == "decommissioned"):
			// A retirement asked for stays asked for: "active" says a
			// provision run reached the entry, not that it lives again.
			return
		case cur != nil && cur.Kind == yaml.ScalarNode:
			ed.SetScalar(cur, want)
		default:
			ed.SetKey(m, "status", yamledit.Str(want))
		}
		changed = append(changed, k.String())
	}
	for i := 0; i+1 < len(dbs.Content); i += 2 {
		name, entry := dbs.Content[i].Value, dbs.Content[i+1]
		meta := yamledit.Lookup(entry, "metadata")
		if meta == nil || meta.Kind != yaml.MappingNode {
			continue
		}
		if e := yamledit.Scalar(meta, "environment"); e != env && (e != "" || !ownFile) {
			continue
		}
		set(meta, Key{Database: name})
		if access := yamledit.Lookup(entry, "access"); access != nil && access.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(access.Content); j += 2 {
				set(access.Content[j+1], Key{Database: name, Username: access.Content[j].Value})
			}
		}
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
