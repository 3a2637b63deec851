package gh_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
)

const (
	owner = "goldenpath"
	repo  = "infra"
	base  = "development"
)

var baseFiles = map[string]string{
	"README.md":                     "# infra\n",
	"envs/dev-rds/terraform.tfvars": "application_databases = {}\n",
}

type fixture struct {
	srv    *ghtest.Server
	client *gh.Client
	sleeps *[]time.Duration
	logs   *[]string
}

// clock is the time the fixture's client reads: waits are computed from
// it and nothing really sleeps. It is the start of the test run, so a
// context deadline (on the machine's clock) can be set relative to it.
var clock = time.Now().UTC().Truncate(time.Second)

// setup starts a fake with the base branch seeded and a client pointed at it
// the way the product is: GITHUB_API_URL without a trailing slash. edit
// changes the client's options.
func setup(t *testing.T, edit ...func(*gh.Options)) fixture {
	t.Helper()
	srv := ghtest.New(t, owner, repo)
	srv.SeedBranch(base, baseFiles)
	return setupClient(t, srv, edit...)
}

func setupClient(t *testing.T, srv *ghtest.Server, edit ...func(*gh.Options)) fixture {
	t.Helper()
	var sleeps []time.Duration
	var logs []string
	opts := gh.Options{
		BaseURL:    srv.URL(),
		Token:      srv.Token(),
		Repository: srv.Repository(),
		Sleep:      func(d time.Duration) { sleeps = append(sleeps, d) },
		Now:        func() time.Time { return clock },
		Logf:       func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) },
	}
	for _, e := range edit {
		e(&opts)
	}
	c, err := gh.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{srv: srv, client: c, sleeps: &sleeps, logs: &logs}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		opts      gh.Options
		wantField string
	}{
		{name: "valid", opts: gh.Options{Repository: "goldenpath/infra"}},
		{name: "enterprise", opts: gh.Options{Repository: "o/r", BaseURL: "https://ghe.example.com/api/v3"}},
		{name: "no slash", opts: gh.Options{Repository: "goldenpath"}, wantField: "Repository"},
		{name: "empty repo", opts: gh.Options{Repository: "goldenpath/"}, wantField: "Repository"},
		{name: "three parts", opts: gh.Options{Repository: "a/b/c"}, wantField: "Repository"},
		{name: "bad base URL", opts: gh.Options{Repository: "o/r", BaseURL: "api.github.com"}, wantField: "BaseURL"},
		{name: "app slug", opts: gh.Options{Repository: "o/r", AppSlug: "rds-provisioner"}},
		{name: "app slug as its bot", opts: gh.Options{Repository: "o/r", AppSlug: "RDS-Provisioner[bot]"}},
		{name: "bad app slug", opts: gh.Options{Repository: "o/r", AppSlug: "rds provisioner"}, wantField: "AppSlug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gh.New(tt.opts)
			var oe *gh.OptionError
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.As(err, &oe) || oe.Field != tt.wantField {
				t.Fatalf("New error = %v, want an OptionError for %s", err, tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name the field %s", err, tt.wantField)
			}
		})
	}
}

func TestBranchAndReadFile(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	head := f.srv.Commits(base)[0].SHA
	next := f.srv.Advance(base, map[string]string{"docs/catalog.yaml": "databases: {}\n"})

	t.Run("BranchHead", func(t *testing.T) {
		got, err := f.client.BranchHead(ctx, base)
		if err != nil || got != next {
			t.Fatalf("BranchHead = %q, %v; want %q", got, err, next)
		}
	})
	t.Run("Branch", func(t *testing.T) {
		got, found, err := f.client.Branch(ctx, base)
		if err != nil || !found {
			t.Fatalf("Branch: found=%v err=%v", found, err)
		}
		if diff := cmp.Diff(gh.Branch{SHA: next, ParentSHAs: []string{head}}, got); diff != "" {
			t.Errorf("Branch (-want +got):\n%s", diff)
		}
	})
	t.Run("Branch missing", func(t *testing.T) {
		_, found, err := f.client.Branch(ctx, "nope")
		if err != nil || found {
			t.Fatalf("Branch(nope): found=%v err=%v", found, err)
		}
	})

	files := []struct {
		name, ref, path string
		want            string
		found           bool
	}{
		{name: "at branch", ref: base, path: "docs/catalog.yaml", want: "databases: {}\n", found: true},
		{name: "at old sha", ref: head, path: "README.md", want: "# infra\n", found: true},
		{name: "not yet at old sha", ref: head, path: "docs/catalog.yaml", found: false},
		{name: "missing file", ref: base, path: "envs/prod-rds/terraform.tfvars", found: false},
		{name: "missing ref", ref: "no-such-branch", path: "README.md", found: false},
	}
	for _, tt := range files {
		t.Run("ReadFile "+tt.name, func(t *testing.T) {
			got, found, err := f.client.ReadFile(ctx, tt.ref, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.found || string(got) != tt.want {
				t.Errorf("ReadFile = %q, %v; want %q, %v", got, found, tt.want, tt.found)
			}
		})
	}
}

// TestReadFileRefusesSymlinks: GitHub answers for a symlink with the file it
// points to, or with the symlink itself and no content. Either way a commit
// of the edit would write a regular file over the symlink (and, for the
// second, start the file from nothing), so ReadFile refuses both.
func TestReadFileRefusesSymlinks(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.srv.Advance(base, map[string]string{"shared/catalog.yaml": "databases: {}\n"})
	f.srv.SeedSymlink(base, "docs/inside.yaml", "../shared/catalog.yaml")
	f.srv.SeedSymlink(base, "docs/outside.yaml", "../../../etc/catalog.yaml")
	f.srv.SeedSymlink(base, "docs/missing.yaml", "nope.yaml")
	for name, p := range map[string]string{"to a file of the repo": "docs/inside.yaml", "out of the repo": "docs/outside.yaml", "to a missing file": "docs/missing.yaml"} {
		t.Run(name, func(t *testing.T) {
			got, found, err := f.client.ReadFile(ctx, base, p)
			if err == nil || !strings.Contains(err.Error(), p+" is a symlink") {
				t.Errorf("ReadFile(%s) = %q, %v, %v; want an error naming the symlink", p, got, found, err)
			}
		})
	}
	if got, _, err := f.client.ReadFile(ctx, base, "shared/catalog.yaml"); err != nil || string(got) != "databases: {}\n" {
		t.Errorf("the symlink's target itself: %q, %v", got, err)
	}
}

func TestCommitFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{
			name: "edit one file and add another",
			files: map[string][]byte{
				"envs/dev-rds/terraform.tfvars":                        []byte("application_databases = {\n  inventory = {}\n}\n"),
				"docs/20-contracts/resource-catalogs/rds-catalog.yaml": []byte("version: \"1.0\"\n"),
			},
		},
		{
			name:  "binary content",
			files: map[string][]byte{"bin/blob": {0, 1, 2, 0xff, '\n'}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			ctx := context.Background()
			parent, err := f.client.BranchHead(ctx, base)
			if err != nil {
				t.Fatal(err)
			}
			sha, err := f.client.CommitFiles(ctx, parent, tt.files, "database: create inventory in dev")
			if err != nil {
				t.Fatalf("CommitFiles: %v", err)
			}

			commits := f.srv.Commits(sha)
			if len(commits) != 2 {
				t.Fatalf("history has %d commits, want the seed and exactly one new", len(commits))
			}
			if diff := cmp.Diff([]string{parent}, commits[0].Parents); diff != "" {
				t.Errorf("parents (-want +got):\n%s", diff)
			}
			if commits[0].Message != "database: create inventory in dev" {
				t.Errorf("message = %q", commits[0].Message)
			}
			want := map[string]string{}
			for k, v := range baseFiles {
				want[k] = v
			}
			for k, v := range tt.files {
				want[k] = string(v)
			}
			if diff := cmp.Diff(want, f.srv.Files(sha)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if got := f.srv.Files(base); !cmp.Equal(got, baseFiles) {
				t.Errorf("base branch moved: %v", got)
			}
			counts := map[string]int{
				"commits": f.srv.CountCalls("POST", "/repos/goldenpath/infra/git/commits"),
				"trees":   f.srv.CountCalls("POST", "/repos/goldenpath/infra/git/trees"),
				"blobs":   f.srv.CountCalls("POST", "/repos/goldenpath/infra/git/blobs"),
			}
			wantCounts := map[string]int{"commits": 1, "trees": 1, "blobs": len(tt.files)}
			if diff := cmp.Diff(wantCounts, counts); diff != "" {
				t.Errorf("write calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPointBranch(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	parent := f.srv.Commits(base)[0].SHA
	const branch = "database/create-dev-inventory"
	first, err := f.client.CommitFiles(ctx, parent, map[string][]byte{"a": []byte("1")}, "first")
	if err != nil {
		t.Fatal(err)
	}
	// A sibling of first, not its descendant: only a force update reaches it.
	second, err := f.client.CommitFiles(ctx, parent, map[string][]byte{"a": []byte("2")}, "second")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		sha         string
		wantCreated bool
	}{
		{name: "create", sha: first, wantCreated: true},
		{name: "force-update to a non-descendant", sha: second, wantCreated: false},
		{name: "already there", sha: second, wantCreated: false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			created, err := f.client.PointBranch(ctx, branch, st.sha)
			if err != nil {
				t.Fatalf("PointBranch: %v", err)
			}
			if created != st.wantCreated {
				t.Errorf("created = %v, want %v", created, st.wantCreated)
			}
			if got := f.srv.Branches()[branch]; got != st.sha {
				t.Errorf("branch at %s, want %s", got, st.sha)
			}
		})
	}
}

func newRequestBranch(t *testing.T, f fixture, branch string) {
	t.Helper()
	ctx := context.Background()
	parent, err := f.client.BranchHead(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := f.client.CommitFiles(ctx, parent, map[string][]byte{"envs/dev-rds/terraform.tfvars": []byte("x = 1\n")}, "database: create inventory in dev")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.PointBranch(ctx, branch, sha); err != nil {
		t.Fatal(err)
	}
}

func TestEnsurePullRequest(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const branch = "database/create-dev-inventory"
	newRequestBranch(t, f, branch)
	spec := gh.PullRequestSpec{
		Head: branch, Base: base,
		Title:  "Create RDS Database: inventory (dev)",
		Body:   "body v1",
		Labels: []string{"rds-database", "platform-team", "dev", "medium-risk"},
	}
	edited := spec
	edited.Body = "body v2"

	steps := []struct {
		name        string
		spec        gh.PullRequestSpec
		wantCreated bool
		wantBody    string
	}{
		{name: "creates with labels", spec: spec, wantCreated: true, wantBody: "body v1"},
		{name: "reuses the open one", spec: spec, wantCreated: false, wantBody: "body v1"},
		{name: "updates a changed body", spec: edited, wantCreated: false, wantBody: "body v2"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			pr, created, err := f.client.EnsurePullRequest(ctx, st.spec)
			if err != nil {
				t.Fatalf("EnsurePullRequest: %v", err)
			}
			want := gh.PullRequest{Number: 1, URL: "https://github.com/goldenpath/infra/pull/1"}
			if diff := cmp.Diff(want, pr); diff != "" {
				t.Errorf("pull request (-want +got):\n%s", diff)
			}
			if created != st.wantCreated {
				t.Errorf("created = %v, want %v", created, st.wantCreated)
			}
			wantPRs := []ghtest.PullRequest{{
				Number: 1, Title: spec.Title, Body: st.wantBody, Head: branch, Base: base,
				State: "open", Labels: spec.Labels,
			}}
			if diff := cmp.Diff(wantPRs, f.srv.PullRequests()); diff != "" {
				t.Errorf("pull requests on GitHub (-want +got):\n%s", diff)
			}
		})
	}
	if n := f.srv.CountCalls("POST", "/repos/goldenpath/infra/issues/1/labels"); n != 1 {
		t.Errorf("labels added %d times, want once (they were already there)", n)
	}
}

func TestEnsurePullRequestMissingBranch(t *testing.T) {
	tests := []struct {
		name       string
		head, base string
	}{
		{name: "missing base", head: "database/create-dev-inventory", base: "develop"},
		{name: "missing head", head: "database/never-pushed", base: base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			newRequestBranch(t, f, "database/create-dev-inventory")
			_, _, err := f.client.EnsurePullRequest(context.Background(), gh.PullRequestSpec{Head: tt.head, Base: tt.base, Title: "t"})
			if !errors.Is(err, gh.ErrBranchNotFound) {
				t.Fatalf("err = %v, want ErrBranchNotFound", err)
			}
		})
	}
}

func TestBranchHeadNotFound(t *testing.T) {
	f := setup(t)
	_, err := f.client.BranchHead(context.Background(), "develop")
	if !errors.Is(err, gh.ErrBranchNotFound) {
		t.Fatalf("err = %v, want ErrBranchNotFound", err)
	}
	if !strings.Contains(err.Error(), `"develop"`) {
		t.Errorf("error %q does not name the branch", err)
	}
}

func TestUpsertComment(t *testing.T) {
	const (
		devMarker  = "<!-- rds-provision:dev -->"
		prodMarker = "<!-- rds-provision:prod -->"
	)
	long := strings.Repeat("app,db,user,success,\n", 70000/21+1)[:70000]
	type call struct {
		marker, body string
		wantUpdated  bool
	}
	tests := []struct {
		name string
		// others is how many comments other people wrote before ours.
		others       int
		calls        []call
		wantComments int
		check        func(t *testing.T, comments []ghtest.Comment)
	}{
		{
			name: "second call edits the same comment",
			calls: []call{
				{marker: devMarker, body: "audit v1"},
				{marker: devMarker, body: "audit v2", wantUpdated: true},
			},
			wantComments: 1,
			check: func(t *testing.T, cs []ghtest.Comment) {
				if want := devMarker + "\naudit v2"; cs[0].Body != want {
					t.Errorf("body = %q, want %q", cs[0].Body, want)
				}
			},
		},
		{
			name: "another environment is another comment",
			calls: []call{
				{marker: devMarker, body: "dev audit"},
				{marker: prodMarker, body: "prod audit"},
				{marker: devMarker, body: "dev audit again", wantUpdated: true},
			},
			wantComments: 2,
			check: func(t *testing.T, cs []ghtest.Comment) {
				got := []string{cs[0].Body, cs[1].Body}
				want := []string{devMarker + "\ndev audit again", prodMarker + "\nprod audit"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("bodies (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "a body over the limit is truncated with a note",
			calls: []call{
				{marker: devMarker, body: long},
			},
			wantComments: 1,
			check: func(t *testing.T, cs []ghtest.Comment) {
				body := cs[0].Body
				if n := utf8.RuneCountInString(body); n > gh.MaxBodyLength {
					t.Errorf("body has %d characters", n)
				}
				if !strings.HasPrefix(body, devMarker) || !strings.Contains(body, "Truncated") {
					t.Errorf("body lacks the marker or the note: ...%s", body[len(body)-200:])
				}
			},
		},
		{
			name:   "finds our comment on page 2",
			others: 150,
			calls: []call{
				{marker: devMarker, body: "audit v1"},
				{marker: devMarker, body: "audit v2", wantUpdated: true},
			},
			wantComments: 151,
			check: func(t *testing.T, cs []ghtest.Comment) {
				if want := devMarker + "\naudit v2"; cs[150].Body != want {
					t.Errorf("body = %q, want %q", cs[150].Body, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			ctx := context.Background()
			newRequestBranch(t, f, "database/create-dev-inventory")
			pr, _, err := f.client.EnsurePullRequest(ctx, gh.PullRequestSpec{Head: "database/create-dev-inventory", Base: base, Title: "t"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.others {
				f.srv.AddComment(pr.Number, fmt.Sprintf("LGTM %d", i))
			}
			for _, c := range tt.calls {
				url, updated, err := f.client.UpsertComment(ctx, pr.Number, c.marker, c.body)
				if err != nil {
					t.Fatalf("UpsertComment: %v", err)
				}
				if updated != c.wantUpdated {
					t.Errorf("updated = %v, want %v", updated, c.wantUpdated)
				}
				if !strings.HasPrefix(url, "https://github.com/goldenpath/infra/pull/1#issuecomment-") {
					t.Errorf("url = %q", url)
				}
			}
			cs := f.srv.Comments(pr.Number)
			if len(cs) != tt.wantComments {
				t.Fatalf("%d comments, want %d", len(cs), tt.wantComments)
			}
			tt.check(t, cs)
		})
	}
}

func TestPullRequestForCommit(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const branch = "database/create-dev-inventory"
	newRequestBranch(t, f, branch)
	pr, _, err := f.client.EnsurePullRequest(ctx, gh.PullRequestSpec{Head: branch, Base: base, Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	merge := f.srv.MergePR(pr.Number)
	seed := f.srv.Commits(base)[len(f.srv.Commits(base))-1].SHA

	tests := []struct {
		name      string
		sha       string
		want      gh.PullRequest
		wantFound bool
	}{
		{name: "merge commit", sha: merge, want: gh.PullRequest{Number: 1, URL: pr.URL, Merged: true}, wantFound: true},
		{name: "commit with no pull request", sha: seed, wantFound: false},
		{name: "unknown commit", sha: strings.Repeat("a", 40), wantFound: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := f.client.PullRequestForCommit(ctx, tt.sha)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.wantFound {
				t.Fatalf("found = %v, want %v", found, tt.wantFound)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pull request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	const refPath = "/repos/goldenpath/infra/git/ref/heads/"
	tests := []struct {
		name       string
		inject     func(s *ghtest.Server)
		wantSleeps []time.Duration
	}{
		{
			name:       "502 then success",
			inject:     func(s *ghtest.Server) { s.FailNext("GET", refPath, http.StatusBadGateway, nil) },
			wantSleeps: []time.Duration{time.Second},
		},
		{
			name: "two 503s back off exponentially",
			inject: func(s *ghtest.Server) {
				s.FailNext("GET", refPath, http.StatusServiceUnavailable, nil)
				s.FailNext("GET", refPath, http.StatusServiceUnavailable, nil)
			},
			wantSleeps: []time.Duration{time.Second, 2 * time.Second},
		},
		{
			name:       "network error then success",
			inject:     func(s *ghtest.Server) { s.DropNext("GET", refPath) },
			wantSleeps: []time.Duration{time.Second},
		},
		{
			name: "secondary rate limit waits Retry-After",
			inject: func(s *ghtest.Server) {
				status, h := ghtest.SecondaryRateLimit(7)
				s.FailNext("GET", refPath, status, h)
			},
			wantSleeps: []time.Duration{7 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			tt.inject(f.srv)
			want := f.srv.Commits(base)[0].SHA
			got, err := f.client.BranchHead(context.Background(), base)
			if err != nil || got != want {
				t.Fatalf("BranchHead = %q, %v; want %q", got, err, want)
			}
			if diff := cmp.Diff(tt.wantSleeps, *f.sleeps); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetriesOnWrite(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	status, h := ghtest.SecondaryRateLimit(1)
	f.srv.FailNext("POST", "/repos/goldenpath/infra/git/commits", status, h)
	f.srv.FailNext("POST", "/repos/goldenpath/infra/git/trees", http.StatusBadGateway, nil)
	parent := f.srv.Commits(base)[0].SHA
	sha, err := f.client.CommitFiles(ctx, parent, map[string][]byte{"a": []byte("1"), "b": []byte("2")}, "m")
	if err != nil {
		t.Fatalf("CommitFiles: %v", err)
	}
	if n := len(f.srv.Commits(sha)); n != 2 {
		t.Errorf("%d commits in history, want 2", n)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, time.Second}, *f.sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestRetriesGiveUp(t *testing.T) {
	srv := ghtest.New(t, owner, repo)
	srv.SeedBranch(base, baseFiles)
	var sleeps []time.Duration
	c, err := gh.New(gh.Options{
		BaseURL: srv.URL(), Token: srv.Token(), Repository: srv.Repository(), MaxRetries: 2,
		Sleep: func(d time.Duration) { sleeps = append(sleeps, d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		srv.FailNext("GET", "/repos/goldenpath/infra/git/ref/", http.StatusBadGateway, nil)
	}
	_, err = c.BranchHead(context.Background(), base)
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err = %v, want the 502 after the retries", err)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestPermission(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *ghtest.Server) gh.Options
	}{
		{
			name: "read-only token",
			setup: func(s *ghtest.Server) gh.Options {
				s.SetReadOnly(true)
				return gh.Options{BaseURL: s.URL(), Token: s.Token(), Repository: s.Repository()}
			},
		},
		{
			name: "rejected token",
			setup: func(s *ghtest.Server) gh.Options {
				return gh.Options{BaseURL: s.URL(), Token: "ghs_wrongTokenThatMustNotLeak", Repository: s.Repository()}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ghtest.New(t, owner, repo)
			parent := srv.SeedBranch(base, baseFiles)
			opts := tt.setup(srv)
			opts.Sleep = func(time.Duration) { t.Error("a permission error must not be retried") }
			c, err := gh.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CommitFiles(context.Background(), parent, map[string][]byte{"a": []byte("1")}, "m")
			if !errors.Is(err, gh.ErrPermission) {
				t.Fatalf("err = %v, want ErrPermission", err)
			}
			t.Logf("error: %v", err)
			for _, want := range []string{"contents: write", "pull-requests: write"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say the token needs %s", err, want)
				}
			}
			if strings.Contains(err.Error(), opts.Token) {
				t.Errorf("error leaks the token: %q", err)
			}
		})
	}
}

// TestEnterpriseURL points the client at the fake as at GitHub Enterprise
// Server, whose API lives under /api/v3.
func TestEnterpriseURL(t *testing.T) {
	srv := ghtest.New(t, owner, repo)
	want := srv.SeedBranch(base, baseFiles)
	c, err := gh.New(gh.Options{BaseURL: srv.URL() + "/api/v3/", Token: srv.Token(), Repository: srv.Repository()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.BranchHead(context.Background(), base)
	if err != nil || got != want {
		t.Fatalf("BranchHead = %q, %v; want %q", got, err, want)
	}
}
