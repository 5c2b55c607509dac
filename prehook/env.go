package prehook

import (
	"os"
	"sort"
	"strings"
)

// Env is the environment the pipeline builds for the role's processes: the
// real environment, then .env files beneath it, then what steps add. It
// keeps the order variables were first set in, so children see a stable
// environment. The zero value is empty and ready to use.
type Env struct {
	keys []string
	vals map[string]string
	// outer holds the keys the Env was made with (EnvFromList, OSEnv): the
	// real environment, which wins over .env files and vault values alike.
	outer map[string]bool
}

// OSEnv returns the process's own environment.
func OSEnv() *Env { return EnvFromList(os.Environ()) }

// EnvFromList builds an Env from KEY=VALUE strings; a later duplicate wins,
// as with execve.
func EnvFromList(list []string) *Env {
	e := &Env{outer: map[string]bool{}}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		e.Set(k, v)
		e.outer[k] = true
	}
	return e
}

// FromEnvironment reports whether key was set in the environment the Env
// was made from (the container's own, e.g. the ECS task definition's
// environment) rather than added since, by a .env file or a step.
func (e *Env) FromEnvironment(key string) bool { return e.outer[key] }

// Lookup returns the value of key and whether it is set.
func (e *Env) Lookup(key string) (string, bool) {
	v, ok := e.vals[key]
	return v, ok
}

// Get returns the value of key, or "" when it is unset.
func (e *Env) Get(key string) string { return e.vals[key] }

// Set sets key to value.
func (e *Env) Set(key, value string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[key]; !ok {
		e.keys = append(e.keys, key)
	}
	e.vals[key] = value
}

// SetDefault sets key to value only when key is unset, so that the real
// environment wins over .env files.
func (e *Env) SetDefault(key, value string) {
	if _, ok := e.vals[key]; !ok {
		e.Set(key, value)
	}
}

// Unset removes key.
func (e *Env) Unset(key string) {
	if _, ok := e.vals[key]; !ok {
		return
	}
	delete(e.vals, key)
	delete(e.outer, key)
	for i, k := range e.keys {
		if k == key {
			e.keys = append(e.keys[:i], e.keys[i+1:]...)
			break
		}
	}
}

// List returns the environment as KEY=VALUE strings in the order keys were
// first set, for exec.
func (e *Env) List() []string {
	list := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		list = append(list, k+"="+e.vals[k])
	}
	return list
}

// Keys returns the variable names, sorted.
func (e *Env) Keys() []string {
	keys := append([]string(nil), e.keys...)
	sort.Strings(keys)
	return keys
}

// Clone returns an independent copy.
func (e *Env) Clone() *Env {
	c := &Env{}
	for _, k := range e.keys {
		c.Set(k, e.vals[k])
	}
	if e.outer != nil {
		c.outer = make(map[string]bool, len(e.outer))
		for k := range e.outer {
			c.outer[k] = true
		}
	}
	return c
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
