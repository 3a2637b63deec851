package request

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goldenpath/rds-provision/internal/catalog"
	"github.com/goldenpath/rds-provision/internal/gh"
	"github.com/goldenpath/rds-provision/internal/ghtest"
	"github.com/goldenpath/rds-provision/internal/tfvars"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/day2 and testdata/instances")

// The day-2 infra: orders, owned by app-team, with an ETL job's editor
// grant; comments and layout that the edits must keep.
const day2Tfvars = `# dev RDS
aws_region      = "eu-west-2"
database_name   = "platform"
master_username = "platform_admin"

application_databases = {
  # Orders service
  orders = {
    database_name = "orders"
    username      = "orders_user" # the service itself
  }
  # The ETL job writes while the export moves
  orders_etl = {
    database_name = "orders"
    username      = "orders_etl"
    access_level  = "editor" # until 2026-03
  }
  keycloak = { database_name = "keycloak", username = "keycloak_user" }
}
`

const day2Catalog = `# RDS catalog of dev
version: "1.0"
last_updated: "2026-01-16"
rds_instance: goldenpath-platform-db-dev
databases:
  orders:
    metadata:
      id: DATABASE_ORDERS
      owner: app-team   # reviews access
      requested_by: jane-doe
      domain: catalog
      risk: high
      environment: dev
      status: active
      created_date: "2026-01-10"
    configuration:
      username: orders_user
      size_tier: small
      instance_class: db.t3.micro
      secret_path: goldenpath/dev/orders/postgres
    access:
      orders_etl:
        level: editor
        team: sre-team
        requested_by: sam-ops
        granted_date: "2026-01-12"
        status: active
  keycloak:
    metadata:
      id: DATABASE_KEYCLOAK
      owner: unknown
      risk: low
      environment: dev
      status: active
    configuration:
      username: keycloak_user
`

func day2Files() map[string]string {
	return map[string]string{
		"envs/dev-rds/terraform.tfvars": day2Tfvars,
		catalog.Path("dev"):             day2Catalog,
		"README.md":                     "infra\n",
	}
}

func day2Form(typ, db, user, level string) Form {
	return Form{RequestType: typ, DatabaseName: db, Username: user, AccessLevel: level, User: "bo-bi", Environment: "dev", BaseBranch: "development"}
}

func grantForm() Form {
	f := day2Form(TypeGrant, "orders", "orders_bi", "reader")
	f.Owner = "app-team"
	return f
}

// newDay2Fake seeds the day-2 infra; the token is a GitHub App's that may
// read the organisation's teams, and app-team has access to the
// repository.
func newDay2Fake(t *testing.T) (*ghtest.Server, *gh.Client) {
	t.Helper()
	srv := ghtest.New(t, "goldenpath", "infra")
	srv.SeedBranch("development", day2Files())
	srv.SetIdentity(ghtest.AppTokenWithMembers("rds-provision"))
	srv.AddTeam("app-team")
	c, err := gh.New(gh.Options{BaseURL: srv.URL(), Token: srv.Token(), Repository: srv.Repository(), Sleep: func(time.Duration) {}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// goldenFile compares got with testdata/day2/name, rewritten with -update.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	goldenIn(t, "day2", name, got)
}

// goldenIn compares got with testdata/dir/name, rewritten with -update.
func goldenIn(t *testing.T, dir, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", dir, name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; run go test -update and review):\n%s", path, diff)
	}
}

// TestDay2PullRequests runs each day-2 request type through the GitHub
// test server: one commit on the base head with the tfvars and catalog
// edited in place (the diff and the body are golden files), the branch,
// title and labels of its type, the owning team asked to review, a rerun
// that changes nothing, and the edited tfvars accepted by terraform.
func TestDay2PullRequests(t *testing.T) {
	tests := []struct {
		name    string
		form    Form
		branch  string
		title   string
		label   string
		entries int // in the edited tfvars
		check   func(t *testing.T, tf *tfvars.File, cat []catalog.Entry)
	}{
		{
			name: "grant", form: grantForm(), entries: 4,
			branch: "database/grant-dev-orders-orders_bi", title: "Grant RDS access: orders_bi (reader) on orders (dev)", label: "rds-grant",
			check: func(t *testing.T, tf *tfvars.File, cat []catalog.Entry) {
				want := tfvars.Entry{Key: "orders_bi", DatabaseName: "orders", Username: "orders_bi", AccessLevel: "reader"}
				if got := tf.Entries[3]; got.Key != want.Key || got.DatabaseName != want.DatabaseName || got.Username != want.Username || got.AccessLevel != want.AccessLevel || got.Retired {
					t.Errorf("new entry %+v, want %+v", got, want)
				}
				rec, ok := cat[0].AccessOf("orders_bi")
				if want := (catalog.Access{Username: "orders_bi", Level: "reader", Team: "app-team", RequestedBy: "bo-bi", GrantedDate: "2026-01-20", Status: "pending"}); !ok || rec != want {
					t.Errorf("access record %+v, want %+v", rec, want)
				}
			},
		},
		{
			name: "change_access", form: day2Form(TypeChangeAccess, "orders", "orders_etl", "reader"), entries: 3,
			branch: "database/change-access-dev-orders-orders_etl", title: "Change RDS access: orders_etl to reader on orders (dev)", label: "rds-change-access",
			check: func(t *testing.T, tf *tfvars.File, cat []catalog.Entry) {
				if tf.Entries[1].AccessLevel != "reader" {
					t.Errorf("orders_etl is %s", tf.Entries[1].AccessLevel)
				}
				if rec, _ := cat[0].AccessOf("orders_etl"); rec.Level != "reader" || rec.Status != "pending" || rec.ChangedBy != "bo-bi" || rec.Team != "sre-team" {
					t.Errorf("access record %+v", rec)
				}
			},
		},
		{
			name: "retire_grant", form: day2Form(TypeRetire, "orders", "orders_etl", ""), entries: 3,
			branch: "database/retire-dev-orders-orders_etl", title: "Retire RDS access: orders_etl on orders (dev)", label: "rds-retire",
			check: func(t *testing.T, tf *tfvars.File, cat []catalog.Entry) {
				if tf.Entries[0].Retired || !tf.Entries[1].Retired || tf.Entries[2].Retired {
					t.Errorf("retired: %v %v %v, want only orders_etl", tf.Entries[0].Retired, tf.Entries[1].Retired, tf.Entries[2].Retired)
				}
				if rec, _ := cat[0].AccessOf("orders_etl"); rec.Status != "decommissioning" || rec.RetireRequestedBy != "bo-bi" || cat[0].Status != "active" {
					t.Errorf("catalog: database %s, record %+v", cat[0].Status, rec)
				}
			},
		},
		{
			name: "retire_database", form: day2Form(TypeRetire, "orders", "orders_user", ""), entries: 3,
			branch: "database/retire-dev-orders", title: "Retire RDS database: orders (dev)", label: "rds-retire",
			check: func(t *testing.T, tf *tfvars.File, cat []catalog.Entry) {
				if !tf.Entries[0].Retired || !tf.Entries[1].Retired || tf.Entries[2].Retired {
					t.Errorf("retired: %v %v %v, want both orders entries and not keycloak", tf.Entries[0].Retired, tf.Entries[1].Retired, tf.Entries[2].Retired)
				}
				if rec, _ := cat[0].AccessOf("orders_etl"); rec.Status != "decommissioning" || cat[0].Status != "decommissioning" || cat[1].Status != "active" {
					t.Errorf("catalog: orders %s, record %+v, keycloak %s", cat[0].Status, rec, cat[1].Status)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newDay2Fake(t)
			base := srv.Branches()["development"]
			res, err := Run(context.Background(), Options{Form: tt.form, GitHub: c, Now: func() time.Time { return testNow }, Dispatch: Dispatch{Actor: "bo-bi"}})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Changed || res.Branch != tt.branch || res.PRNumber != 1 || !res.PRCreated {
				t.Fatalf("result %+v", res)
			}
			commits := srv.Commits(res.Branch)
			if !cmp.Equal(commits[0].Parents, []string{base}) || commits[0].Message != res.Plan.CommitMessage {
				t.Errorf("commit %+v on %s", commits[0], base)
			}
			prs := srv.PullRequests()
			if len(prs) != 1 || prs[0].Title != tt.title || prs[0].Body != res.Body {
				t.Fatalf("pull requests %+v", prs)
			}
			if diff := cmp.Diff(sorted([]string{"dev", "high-risk", "platform-team", "rds-database", tt.label}), sorted(prs[0].Labels)); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"app-team"}, prs[0].RequestedTeams); diff != "" {
				t.Errorf("requested teams (-want +got):\n%s", diff)
			}
			if !res.Plan.Review.Requested || res.Plan.Review.Refused != "" {
				t.Errorf("review %+v", res.Plan.Review)
			}
			goldenFile(t, tt.name+".diff", res.Diff)
			goldenFile(t, tt.name+".md", res.Body)

			files := srv.Files(res.Branch)
			tfSrc := []byte(files["envs/dev-rds/terraform.tfvars"])
			tf, err := tfvars.Parse("terraform.tfvars", tfSrc, tfvars.ModeStandalone)
			if err != nil {
				t.Fatal(err)
			}
			cat, err := catalog.Entries([]byte(files[catalog.Path("dev")]))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, tf, cat)
			if err := tfvars.VerifyWithTerraform(context.Background(), "", tfSrc, tfvars.ModeStandalone, tt.entries); err != nil {
				t.Errorf("terraform rejects the edited tfvars: %v", err)
			}

			head := srv.Branches()[res.Branch]
			again, err := Run(context.Background(), Options{Form: tt.form, GitHub: c, Now: func() time.Time { return testNow.Add(time.Hour) }, Dispatch: Dispatch{Actor: "bo-bi"}})
			if err != nil || again.PRNumber != 1 || again.PRCreated || srv.Branches()[res.Branch] != head || len(srv.PullRequests()) != 1 {
				t.Errorf("rerun: %+v %v; branch %s -> %s", again, err, head, srv.Branches()[res.Branch])
			}

			// Merged, the same request again finds it done, except
			// change-access, which is refused: the role has that level.
			srv.MergePR(1)
			_, err = Run(context.Background(), Options{Form: tt.form, GitHub: c, Now: func() time.Time { return testNow }, Dispatch: Dispatch{Actor: "bo-bi"}})
			if tt.form.RequestType == TypeChangeAccess {
				if v, ok := IsValidation(err); !ok || v.Problems[0].Field != FieldAccessLevel || !strings.Contains(v.Problems[0].Rule, "nothing to change") {
					t.Errorf("after merge: %v", err)
				}
			} else if err != nil {
				t.Errorf("after merge: %v", err)
			}
		})
	}
}

// TestDay2Refusals: each request type is refused with its reason when it
// does not fit the files, every problem at once, and nothing is written
// (every call a GET).
func TestDay2Refusals(t *testing.T) {
	form := func(typ, db, user, level string, edit ...func(*Form)) Form {
		f := day2Form(typ, db, user, level)
		if typ == TypeGrant {
			f.Owner = "app-team"
		}
		for _, e := range edit {
			e(&f)
		}
		return f
	}
	tests := []struct {
		name string
		form Form
		want []FieldError
	}{
		{"grant on a database that does not exist", form(TypeGrant, "billing", "billing_ro", "reader"), []FieldError{
			{Field: "database_name", Value: `"billing"`, Rule: "does not exist in envs/dev-rds/terraform.tfvars: no owner entry of application_databases lists it; use request_type create to add it"},
		}},
		{"create on a database that exists", Form{DatabaseName: "orders", Username: "orders_two", Owner: "app-team", User: "bo-bi", Domain: "catalog", Environment: "dev", Risk: "low", Size: "small"}, []FieldError{
			{Field: "database_name", Value: `"orders"`, Rule: `already exists in envs/dev-rds/terraform.tfvars and docs/20-contracts/resource-catalogs/rds-catalog.yaml with username "orders_user"; to give "orders_two" access to it use request_type grant`},
		}},
		{"change-access to the same level", form(TypeChangeAccess, "orders", "orders_etl", "editor"), []FieldError{
			{Field: "access_level", Value: `"editor"`, Rule: `is already the level of "orders_etl" on "orders" in envs/dev-rds/terraform.tfvars: nothing to change`},
		}},
		{"grant to a username of another database", form(TypeGrant, "orders", "keycloak_user", "reader"), []FieldError{
			{Field: "username", Value: `"keycloak_user"`, Rule: `is already used by database "keycloak" in envs/dev-rds/terraform.tfvars and docs/20-contracts/resource-catalogs/rds-catalog.yaml; a role serves one database, so choose another username`},
		}},
		{"grant to a role that has another level", form(TypeGrant, "orders", "orders_etl", "reader"), []FieldError{
			{Field: "access_level", Value: `"reader"`, Rule: `is not the level "orders_etl" has on "orders": it has editor in envs/dev-rds/terraform.tfvars and docs/20-contracts/resource-catalogs/rds-catalog.yaml; to change it use request_type change-access`},
		}},
		{"grant to the owner", form(TypeGrant, "orders", "orders_user", "reader"), []FieldError{
			{Field: "username", Value: `"orders_user"`, Rule: `is the owner of database "orders" in envs/dev-rds/terraform.tfvars: the owner has every privilege on it already`},
		}},
		{"grant as owner, without a team", form(TypeGrant, "orders", "orders_bi", "owner", func(f *Form) { f.Owner = "" }), []FieldError{
			{Field: "access_level", Value: `"owner"`, Rule: "must be editor or reader for request_type grant: a database has one owner, the entry that created it"},
			{Field: "owner", Value: `""`, Rule: "is required for request_type grant (one of unknown, platform-team, security-team, operations-team, sre-team, app-team, database-team)"},
		}},
		{"grant without a level", form(TypeGrant, "orders", "orders_bi", ""), []FieldError{
			{Field: "access_level", Value: `""`, Rule: "is required for request_type grant (editor or reader)"},
		}},
		{"create with a reader level", Form{DatabaseName: "billing", Username: "billing_user", AccessLevel: "reader", Owner: "app-team", User: "bo-bi", Domain: "catalog", Environment: "dev", Risk: "low", Size: "small"}, []FieldError{
			{Field: "access_level", Value: `"reader"`, Rule: "does not fit request_type create: a new database's entry is its owner (access_level owner); to give reader access to an existing database use request_type grant"},
		}},
		{"change-access of the owner", form(TypeChangeAccess, "orders", "orders_user", "reader"), []FieldError{
			{Field: "username", Value: `"orders_user"`, Rule: `is the owner of database "orders" in envs/dev-rds/terraform.tfvars: its role owns the database, so its level stays owner`},
		}},
		{"change-access of a role without access", form(TypeChangeAccess, "orders", "orders_new", "reader"), []FieldError{
			{Field: "username", Value: `"orders_new"`, Rule: `has no access to database "orders" in envs/dev-rds/terraform.tfvars; use request_type grant to give it access`},
		}},
		{"retire a role of another database", form(TypeRetire, "orders", "keycloak_user", ""), []FieldError{
			{Field: "username", Value: `"keycloak_user"`, Rule: `belongs to database "keycloak" in envs/dev-rds/terraform.tfvars, not to "orders"`},
		}},
		{"unknown request type", form("delete", "orders", "orders_user", ""), []FieldError{
			{Field: "request_type", Value: `"delete"`, Rule: "must be one of create, grant, change-access, retire"},
			{Field: "owner", Value: `""`, Rule: "is required (one of unknown, platform-team, security-team, operations-team, sre-team, app-team, database-team)"},
			{Field: "domain", Value: `""`, Rule: "is required (one of platform-core, delivery, identity, catalog, observability, governance, security, cost, governance-routing, platform-governance)"},
			{Field: "risk", Value: `""`, Rule: "is required (one of none, low, medium, high, access)"},
			{Field: "size", Value: `""`, Rule: "is required (one of small, medium, large, xlarge)"},
		}},
		{"a person requesting as someone else", form(TypeRetire, "orders", "orders_etl", "", func(f *Form) { f.User = "jane-doe" }), []FieldError{
			{Field: "user", Value: `"jane-doe"`, Rule: `is not who dispatched the workflow (GITHUB_ACTOR "bo-bi"): a person can only request as themself; only a bot (a login ending in [bot], such as Backstage's GitHub App) passes another person's login`},
		}},
		{"a bot's own login", form(TypeRetire, "orders", "orders_etl", "", func(f *Form) { f.User = "backstage[bot]" }), []FieldError{
			{Field: "user", Value: `"backstage[bot]"`, Rule: "is a bot's login: a dispatching bot passes the login of the person who asked (Backstage: the signed-in user's github.com/user-login annotation)"},
		}},
		{"unused fields are still checked", form(TypeRetire, "orders", "orders_etl", "", func(f *Form) { f.Risk = "severe\n" }), []FieldError{
			{Field: "risk", Value: `"severe\n"`, Rule: "must be one of none, low, medium, high, access"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newDay2Fake(t)
			_, err := Run(context.Background(), Options{Form: tt.form, GitHub: c, Dispatch: Dispatch{Actor: "bo-bi"}})
			refusedReadingOnly(t, srv, err, tt.want)
		})
	}
}

// refusedReadingOnly checks that err holds exactly the problems want and
// that the run made no GitHub call but reads.
func refusedReadingOnly(t *testing.T, srv *ghtest.Server, err error, want []FieldError) {
	t.Helper()
	v, ok := IsValidation(err)
	if !ok {
		t.Fatalf("err = %v, want problems", err)
	}
	if diff := cmp.Diff(want, v.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	for _, call := range srv.Calls() {
		if !strings.HasPrefix(call, "GET ") {
			t.Errorf("write call %s", call)
		}
	}
}

// TestDay2RefusalsOfRetiredAndUncatalogued: a retired database takes no
// grant, a retired role neither, and a database the catalog lacks has no
// owning team to review.
func TestDay2RefusalsOfRetiredAndUncatalogued(t *testing.T) {
	snap := Snapshot{}
	for p, src := range day2Files() {
		snap[p] = []byte(src)
	}
	retire, err := MakePlan(day2Form(TypeRetire, "orders", "orders_etl", ""), snap, PlanSettings{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range retire.Files {
		snap[f.Path] = f.New
	}
	regrant := grantForm()
	regrant.Username, regrant.AccessLevel = "orders_etl", "editor"
	_, err = MakePlan(regrant, snap, PlanSettings{Now: testNow})
	if v, ok := IsValidation(err); !ok || len(v.Problems) != 1 || !strings.HasPrefix(v.Problems[0].Rule, `had access to "orders" and is retired in envs/dev-rds/terraform.tfvars`) {
		t.Errorf("a retired role granted again: %v", err)
	}
	// Retiring it again is a rerun: nothing to change.
	p, err := MakePlan(day2Form(TypeRetire, "orders", "orders_etl", ""), snap, PlanSettings{Now: testNow})
	if err != nil || p.Changed() {
		t.Errorf("retire again: %v, changed %v", err, p != nil && p.Changed())
	}

	delete(snap, catalog.Path("dev"))
	_, err = MakePlan(grantForm(), snap, PlanSettings{Now: testNow})
	want := `has no entry in docs/20-contracts/resource-catalogs/rds-catalog.yaml (the file does not exist): the catalog names the owning team, who reviews the request, and records who has access; add the entry by re-submitting the database's create request (request_type create, username "orders_user")`
	if v, ok := IsValidation(err); !ok || len(v.Problems) != 1 || v.Problems[0].Rule != want {
		t.Errorf("no catalog: %v", err)
	}
}

// TestDay2ReviewRefused: a team GitHub does not know, or a token that
// cannot read teams, leaves the pull request open with the refusal in its
// body (and in Plan.Review for the job summary), never skipped silently.
func TestDay2ReviewRefused(t *testing.T) {
	for _, tt := range []struct {
		name     string
		setup    func(*ghtest.Server)
		sentinel error
		want     string
	}{
		{"team unknown to GitHub", func(s *ghtest.Server) {}, gh.ErrReviewersRefused,
			"GitHub refused the review request for team(s) sre-team: Reviews may only be requested from collaborators."},
		{"the workflow token", func(s *ghtest.Server) { s.AddTeam("sre-team"); s.SetIdentity(ghtest.WorkflowToken) }, gh.ErrTeamsUnreadable,
			"the token cannot read the organisation's teams: the workflow's GITHUB_TOKEN never can; give the GitHub App the organization permission Members: read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newDay2Fake(t)
			tt.setup(srv)
			// sre-team owns the database now.
			srv.Advance("development", map[string]string{catalog.Path("dev"): strings.Replace(day2Catalog, "owner: app-team", "owner: sre-team", 1)})
			res, err := Run(context.Background(), Options{Form: grantForm(), GitHub: c, Now: func() time.Time { return testNow }, Dispatch: Dispatch{Actor: "bo-bi"}})
			if err != nil {
				t.Fatalf("a refused review failed the request: %v", err)
			}
			pr := srv.PullRequests()[0]
			if len(pr.RequestedTeams) != 0 || res.Plan.Review.Requested || !strings.Contains(res.Plan.Review.Refused, tt.want) {
				t.Errorf("review %+v, requested teams %v", res.Plan.Review, pr.RequestedTeams)
			}
			if !strings.Contains(pr.Body, "> **The owning team `sre-team` could not be asked to review:** "+mdLine(res.Plan.Review.Refused)) || pr.Body != res.Body {
				t.Errorf("the body does not report the refusal:\n%s", pr.Body)
			}
			if strings.Contains(pr.Body, "### Review\n") || strings.Contains(pr.Body, "| review by the owning team") {
				t.Error("the body still says the team is asked")
			}
		})
	}

	t.Run("a GitHub failure fails the run", func(t *testing.T) {
		srv, c := newDay2Fake(t)
		srv.FailNext("POST", "/repos/goldenpath/infra/pulls/1/requested_reviewers", 404, nil)
		_, err := Run(context.Background(), Options{Form: grantForm(), GitHub: c, Now: func() time.Time { return testNow }, Dispatch: Dispatch{Actor: "bo-bi"}})
		if err == nil || errors.Is(err, gh.ErrReviewersRefused) || !strings.Contains(err.Error(), "request a review from team app-team on pull request #1") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("no team to ask", func(t *testing.T) {
		srv, c := newDay2Fake(t)
		f := day2Form(TypeRetire, "keycloak", "keycloak_user", "")
		res, err := Run(context.Background(), Options{Form: f, GitHub: c, Now: func() time.Time { return testNow }, Dispatch: Dispatch{Actor: "bo-bi"}})
		if err != nil {
			t.Fatal(err)
		}
		if srv.CountCalls("POST", "/repos/goldenpath/infra/pulls/1/requested_reviewers") != 0 || res.Plan.Review.Why != "the catalog's owner is unknown" {
			t.Errorf("review %+v", res.Plan.Review)
		}
		if !strings.Contains(res.Body, "> **No owning team to ask for review:** the catalog's owner is unknown, so only the platform team reviews.") {
			t.Errorf("body:\n%s", res.Body)
		}
	})
}

// TestDay2Dispatch: who asked, as the body tells it, and the fields the
// request type does not use.
func TestDay2Dispatch(t *testing.T) {
	snap := Snapshot{}
	for p, src := range day2Files() {
		snap[p] = []byte(src)
	}
	f := grantForm()
	// What a form sends for the fields a grant hides (the first choice,
	// the default) says nothing; other values are noticed.
	f.Domain, f.Risk, f.Size, f.InitialSchema = "catalog", "low", "small", "none"
	for _, tt := range []struct {
		name     string
		dispatch Dispatch
		want     string
	}{
		{"a person", Dispatch{Actor: "Bo-Bi"}, "Requested by @bo-bi, who dispatched the workflow.\n"},
		{"Backstage's App", Dispatch{Actor: "backstage-rds[bot]"}, "Requested by @bo-bi, the login that `backstage-rds[bot]` passed: that bot dispatched the workflow, so GitHub vouches for the bot and the bot for the login.\n"},
		{"a re-run", Dispatch{Actor: "bo-bi", TriggeringActor: "sam-ops"}, "Requested by @bo-bi, who dispatched the workflow. Re-run by `sam-ops`.\n"},
		{"outside Actions", Dispatch{}, "Requested by @bo-bi through `rds-provision request` outside GitHub Actions: the login was given, not checked against who ran it.\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := MakePlan(f, snap, PlanSettings{Now: testNow, Dispatch: tt.dispatch})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.Body, tt.want) {
				t.Errorf("body lacks %q:\n%s", tt.want, p.Body)
			}
			if diff := cmp.Diff([]Notice{{"domain", `"catalog"`}, {"risk", `"low"`}}, p.Notices); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
			if !strings.Contains(p.Body, "Not used by `grant`, so ignored: `domain` `\"catalog\"`, `risk` `\"low\"`.") {
				t.Errorf("body does not list the unused fields:\n%s", p.Body)
			}
		})
	}
}

// TestDay2Local: the day-2 types on a working tree (--local), in coupled
// mode with both tfvars files, each accepted by terraform.
func TestDay2Local(t *testing.T) {
	coupled := "rds_config = {\n  enabled         = true\n  master_username = \"platform_admin\"\n  application_databases = {\n" +
		"    orders = {\n      database_name = \"orders\"\n      username      = \"orders_user\"\n    }\n" +
		"    orders_etl = {\n      database_name = \"orders\"\n      username      = \"orders_etl\"\n      access_level  = \"editor\"\n    }\n  }\n}\n"
	files := day2Files()
	files["envs/dev/terraform.tfvars"] = coupled
	dir := writeTree(t, files)
	run := func(f Form) Result {
		t.Helper()
		res, err := Run(context.Background(), Options{Form: f, RepoRoot: dir, Local: true, Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatalf("%s: %v", f.RequestType, err)
		}
		return res
	}
	run(grantForm())
	run(day2Form(TypeChangeAccess, "orders", "orders_bi", "editor"))
	res := run(day2Form(TypeRetire, "orders", "orders_user", ""))
	if diff := cmp.Diff([]string{"envs/dev/terraform.tfvars", "envs/dev-rds/terraform.tfvars", catalog.Path("dev")}, res.FilesChanged); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for p, mode := range map[string]tfvars.Mode{"envs/dev/terraform.tfvars": tfvars.ModeCoupled, "envs/dev-rds/terraform.tfvars": tfvars.ModeStandalone} {
		src, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		f, err := tfvars.Parse(p, src, mode)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range f.Entries {
			if e.DatabaseName == "orders" && !e.Retired || e.Username == "orders_bi" && e.AccessLevel != "editor" {
				t.Errorf("%s: %+v", p, e)
			}
		}
		if err := tfvars.VerifyWithTerraform(context.Background(), "", src, mode, len(f.Entries)); err != nil {
			t.Errorf("terraform rejects %s: %v", p, err)
		}
	}
	var out bytes.Buffer
	if _, err := Run(context.Background(), Options{Form: day2Form(TypeRetire, "orders", "orders_user", ""), RepoRoot: dir, DryRun: true, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if want := "No change: development already holds the retire request for orders in dev.\n"; out.String() != want {
		t.Errorf("dry run of a done retirement: %q, want %q", out.String(), want)
	}
}
