package naming

// DefaultSecretPrefix is the first segment of every secret path (SPEC:
// goldenpath/<env>/rds/master, goldenpath/<env>/<app>/postgres).
const DefaultSecretPrefix = "goldenpath"

// MasterSecretPath is the Secrets Manager id of an environment's master
// credentials: <prefix>/<env>/rds/master.
func MasterSecretPath(prefix, env string) string {
	return prefix + "/" + env + "/rds/master"
}

// AppSecretPath is the Secrets Manager id of an application's credentials
// when its entry names no secret_name: <prefix>/<env>/<app>/postgres, where
// app is its key in application_databases.
func AppSecretPath(prefix, env, app string) string {
	return prefix + "/" + env + "/" + app + "/postgres"
}
