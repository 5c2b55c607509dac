// Package prehook is entry's start-up pipeline: it loads .env files, then
// runs the start-up steps in a fixed order (secrets, render, assets, hooks)
// before the role starts or the command is exec'd. A step that fails stops
// the pipeline; every step writes its files atomically, so nothing is left
// half-written. See docs/config.md for the order and why.
package prehook
