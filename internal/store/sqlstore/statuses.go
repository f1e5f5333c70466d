package sqlstore

import "github.com/liftoffhq/liftoff/internal/liftoff"

// Statuses as SQL literals, spelled from the Go constants so that a query
// and the code reading its rows cannot drift apart. They are constants, not
// parameters: the partial indexes on deployments (one PENDING and one
// running deployment per instance) are matched by the planner only against
// the same literal predicates.
const (
	sqlPending    = `'` + string(liftoff.StatusPending) + `'`
	sqlInProgress = `'` + string(liftoff.StatusInProgress) + `'`
	sqlSuccess    = `'` + string(liftoff.StatusSuccess) + `'`
	sqlError      = `'` + string(liftoff.StatusError) + `'`
	sqlCancelled  = `'` + string(liftoff.StatusCancelled) + `'`

	// runningStatuses lists the statuses for which Status.Running is true;
	// it must match the deployments_one_running index.
	runningStatuses = `(` + sqlInProgress + `, '` + string(liftoff.StatusBuilding) + `', '` +
		string(liftoff.StatusDeploying) + `')`
	// finalStatuses lists the statuses for which Status.Final is true.
	finalStatuses = `(` + sqlSuccess + `, '` + string(liftoff.StatusNoChange) + `', '` +
		string(liftoff.StatusBuildError) + `', '` + string(liftoff.StatusDeployError) + `', ` +
		sqlError + `, ` + sqlCancelled + `)`
)
