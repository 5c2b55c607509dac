// Package cron is entry's built-in scheduler: it parses crontabs (5, 6 or
// 7 time fields, @daily and friends, @every, @reboot, KEY=VALUE and
// CRON_TZ= lines, "# entry:" job options), computes run times on a time
// zone's wall clock with Vixie cron's DST rule, and runs the jobs as child
// process groups of the supervisor (a supervise.Service). See docs/cron.md.
//
// The time expression parser is written here rather than taken from a
// library: none of the maintained ones reads seconds and a year
// (supercronic's 7-field form) together with @every and @reboot, reports
// errors by field, and computes next runs correctly across DST changes.
package cron
