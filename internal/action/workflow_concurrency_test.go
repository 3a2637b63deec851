package action

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// concurrency is a workflow's or a job's concurrency block.
type concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress any    `yaml:"cancel-in-progress"`
	Queue            string `yaml:"queue"`
}

// TestConcurrencyQueues checks what actionlint cannot yet (it does not know
// the key queue): every queue value is one GitHub accepts, never combined
// with cancel-in-progress: true, and the apply workflow's provisioning jobs
// queue rather than cancel each other's pending runs.
func TestConcurrencyQueues(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", ".github", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	blocks := map[string]concurrency{} // "file" or "file jobs.<id>"
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Concurrency yaml.Node `yaml:"concurrency"`
			Jobs        map[string]struct {
				Concurrency yaml.Node `yaml:"concurrency"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(raw, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		add := func(where string, n yaml.Node) {
			var c concurrency
			switch n.Kind {
			case 0:
				return
			case yaml.ScalarNode: // concurrency: <group>
				c.Group = n.Value
			default:
				if err := n.Decode(&c); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
			}
			blocks[where] = c
		}
		add(filepath.Base(f), wf.Concurrency)
		for id, j := range wf.Jobs {
			add(filepath.Base(f)+" jobs."+id, j.Concurrency)
		}
	}
	for where, c := range blocks {
		switch c.Queue {
		case "", "single", "max":
		default:
			t.Errorf("%s: queue %q, want single or max", where, c.Queue)
		}
		if c.Queue == "max" && c.CancelInProgress == true {
			t.Errorf("%s: queue: max with cancel-in-progress: true is a workflow validation error", where)
		}
	}
	want := concurrency{Group: "rds-provision-${{ matrix.env }}", CancelInProgress: false, Queue: "max"}
	if diff := cmp.Diff(want, blocks["rds-database-apply.yml jobs.provision"]); diff != "" {
		t.Errorf("provisioning jobs' concurrency (-want +got):\n%s", diff)
	}
}
