// Package deploy deploys a new image to Amazon ECS: it registers a task
// definition revision, runs the migration task, updates the services, waits
// until the new deployment serves and rolls back on failure. See
// docs/deploy.md.
package deploy
