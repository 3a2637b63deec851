package cli

import "github.com/goldenpath/rds-provision/internal/gh"

// githubClient is the client for the repository GITHUB_REPOSITORY names,
// with GITHUB_TOKEN, at GITHUB_API_URL (default api.github.com). what
// opens the usage error when one is missing ("request: opening a pull
// request"); prefix opens the others ("request: ").
func githubClient(getenv func(string) string, what, prefix string) (*gh.Client, error) {
	repo, token := getenv("GITHUB_REPOSITORY"), getenv("GITHUB_TOKEN")
	if repo == "" || token == "" {
		return nil, usageErrorf("%s needs GITHUB_TOKEN and GITHUB_REPOSITORY (owner/repo); use --local or --dry-run to work on --repo-root", what)
	}
	client, err := gh.New(gh.Options{BaseURL: getenv("GITHUB_API_URL"), Token: token, Repository: repo})
	if err != nil {
		return nil, usageErrorf("%s%v", prefix, err)
	}
	return client, nil
}
